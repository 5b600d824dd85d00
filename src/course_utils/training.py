"""One training loop for every GAN variant, and the small pieces it is made of.

:func:`train_gan` is Algorithm 1 of the WGAN paper (Arjovsky, Chintala & Bottou,
ICML 2017) and of WGAN-GP (Gulrajani et al., NeurIPS 2017); the variants differ
only by the loss pair (:mod:`course_utils.gan_losses`) and the Lipschitz
constraint (:mod:`course_utils.lipschitz`) passed in::

    for iteration = 1 … iterations:
        for t = 1 … n_critic:                                         critic_step
            x ← batch of real samples,  x̃ ← G(z) for a batch of codes z
            L_D ← critic_loss(f(x), f(x̃))  [+ penalty]                (WGAN: E f(x̃) − E f(x))
            one optimiser step on the critic;  [clip its weights]      (WGAN only)
        z ← batch of codes                                             generator_step
        L_G ← generator_loss(f(G(z)))                                  (WGAN: −E f(G(z)))
        one optimiser step on the generator

The pieces are public so that other loops (a critic alone, :func:`course_utils.critic_fit.fit_critic`;
later chapters' OT-GAN and CycleGAN) are built from them: :func:`draw_batch`,
:func:`latent_codes`, :func:`critic_step`, :func:`generator_step`,
:func:`paper_optimizers`, :class:`TrainingLog` (statistics kept on the device, copied
to the host once per interval, with the non-finite guard), :func:`evaluate_models`,
and the checkpoint functions (:func:`save_checkpoint` writes atomically,
:func:`load_checkpoint` reads on the CPU with ``weights_only=True``,
:func:`checkpoint_state` and :func:`restore_checkpoint` cover models, optimisers and
random state, so that a resumed run continues exactly).

Optimiser settings (:func:`paper_optimizers`), and where each comes from:

| variant  | loss            | constraint              | optimiser                    | source                         |
|----------|-----------------|-------------------------|------------------------------|--------------------------------|
| GAN      | NON_SATURATING  | None                    | Adam 2e-4, β = (0.5, 0.999)  | DCGAN paper (Radford et al.)   |
| WGAN     | WASSERSTEIN     | WeightClipping(0.01)    | RMSProp 5e-5                 | WGAN paper, Algorithm 1        |
|          |                 |                         | warm-up: 100 critic steps    | the WGAN authors' code         |
| WGAN-GP  | WASSERSTEIN     | GradientPenalty(10)     | Adam 1e-4, β = (0.5, 0.9)    | the WGAN-GP authors' toy and   |
|          |                 |                         |                              | MNIST code; the paper's        |
|          |                 |                         |                              | Algorithm 1 has β = (0, 0.9)   |
| SN-WGAN  | WASSERSTEIN     | SpectralNormalization() | Adam 1e-4, β = (0.5, 0.9)    | as WGAN-GP's code              |
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn
from tqdm.auto import tqdm

from .gan_losses import GANLoss, WASSERSTEIN
from .lipschitz import LipschitzConstraint, WeightClipping, uses_batch_norm

__all__ = ["CHECKPOINT_FORMAT", "HISTORY_KEYS", "CriticStep", "TrainingLog", "checkpoint_state",
           "critic_iterations", "critic_step", "draw_batch", "evaluate_models", "generator_step",
           "latent_codes", "load_checkpoint", "paper_optimizers", "restore_checkpoint", "save_checkpoint",
           "train_gan"]

CHECKPOINT_FORMAT = 2
HISTORY_KEYS = ("critic_loss", "estimate", "penalty", "generator_loss")
"""Recorded once per generator iteration, from the last critic step and the generator step."""

Sampler = torch.Tensor | Callable[[int], torch.Tensor]
Evaluation = Callable[[nn.Module, nn.Module], dict]


# ---------------------------------------------------------------------------------------------
# The steps of the algorithm box
# ---------------------------------------------------------------------------------------------

def draw_batch(source: Sampler, size: int, rng: torch.Generator | None = None) -> torch.Tensor:
    """``size`` samples: drawn by index (with replacement) from a tensor, or from a sampling function."""
    if isinstance(source, torch.Tensor):
        return source[torch.randint(len(source), (size,), device=source.device, generator=rng)]
    return source(size)


def latent_codes(n: int, latent_dim: int, rng: torch.Generator) -> torch.Tensor:
    """z ~ N(0, I) of shape (n, latent_dim), on ``rng``'s device."""
    return torch.randn(n, latent_dim, device=rng.device, generator=rng)


class CriticStep(NamedTuple):
    """What one critic update measured, as detached 0-d tensors on the device (no synchronisation)."""

    loss: torch.Tensor
    estimate: torch.Tensor
    """mean f(x) − mean f(x̃): the critic's estimate of W1 for a Wasserstein loss."""
    penalty: torch.Tensor


def critic_step(critic: nn.Module, optimizer: torch.optim.Optimizer, loss: GANLoss,
                constraint: LipschitzConstraint, real: torch.Tensor, fake: torch.Tensor,
                rng: torch.Generator | None = None) -> CriticStep:
    """One update of the critic on a batch: L_D = loss.critic(f(x), f(x̃)) [+ penalty]; step; [clip].

    ``fake`` must carry no graph to the generator (draw it under ``torch.no_grad()``).
    Without batch norm, real and fake go through the critic in one pass (a sample's
    score does not depend on the rest of its batch, and one large matrix product is
    faster than two); with it, in two, so that the halves do not mix.
    """
    if uses_batch_norm(critic):
        real_scores, fake_scores = critic(real), critic(fake)
    else:
        real_scores, fake_scores = critic(torch.cat([real, fake])).split([len(real), len(fake)])
    critic_loss = loss.critic(real_scores, fake_scores)
    penalty = constraint.penalty(critic, real, fake, rng)
    optimizer.zero_grad(set_to_none=True)
    (critic_loss if penalty is None else critic_loss + penalty).backward()
    optimizer.step()
    constraint.after_step(critic)
    estimate = real_scores.detach().mean() - fake_scores.detach().mean()
    penalty = torch.zeros_like(estimate) if penalty is None else penalty.detach()
    return CriticStep(critic_loss.detach(), estimate, penalty)


def generator_step(generator: nn.Module, critic: nn.Module, optimizer: torch.optim.Optimizer, loss: GANLoss,
                   z: torch.Tensor) -> torch.Tensor:
    """One update of the generator through the frozen critic: L_G = loss.generator(f(G(z))); step.

    The critic's parameters compute no gradients meanwhile. Returns L_G, detached.
    """
    critic.requires_grad_(False)
    try:
        generator_loss = loss.generator(critic(generator(z)))
        optimizer.zero_grad(set_to_none=True)
        generator_loss.backward()
        optimizer.step()
    finally:
        critic.requires_grad_(True)
    return generator_loss.detach()


def critic_iterations(iteration: int, n_critic: int, warmup: bool) -> int:
    """Critic updates before generator update number ``iteration`` (counted from 0).

    With the warm-up of the WGAN authors' code (it is not in the paper's
    Algorithm 1): 100 for the first 25 generator iterations and every 500th, so that
    the critic is close to optimal when its gradient matters; otherwise ``n_critic``.
    """
    if warmup and (iteration < 25 or iteration % 500 == 0):
        return max(100, n_critic)
    return n_critic


def paper_optimizers(loss: GANLoss, constraint: LipschitzConstraint | None, generator: nn.Module,
                     critic: nn.Module, lr_scale: float = 1.0) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """The optimisers of the variant's authors, as (generator's, critic's); see the module's table.

    Weight clipping: RMSProp, lr 5e-5 (WGAN, Algorithm 1: momentum made the clipped
    critic unstable). Other Wasserstein critics: Adam, lr 1e-4, β = (0.5, 0.9) (the
    WGAN-GP authors' code; their paper's Algorithm 1 has β1 = 0). GAN losses: Adam,
    lr 2e-4, β = (0.5, 0.999) (DCGAN, Radford et al. 2016). ``lr_scale`` multiplies
    the learning rates (a profile may train fewer iterations with larger steps).
    """
    if isinstance(constraint, WeightClipping):
        make = lambda params: torch.optim.RMSprop(params, lr=5e-5 * lr_scale)
    elif loss.name == WASSERSTEIN.name:
        make = lambda params: torch.optim.Adam(params, lr=1e-4 * lr_scale, betas=(0.5, 0.9))
    else:
        make = lambda params: torch.optim.Adam(params, lr=2e-4 * lr_scale, betas=(0.5, 0.999))
    return make(generator.parameters()), make(critic.parameters())


# ---------------------------------------------------------------------------------------------
# Around the steps: the log, evaluation, checkpoints
# ---------------------------------------------------------------------------------------------

class TrainingLog:
    """Per-iteration statistics kept on the device and copied to the host once per :meth:`flush`.

    ``record(iteration, **values)`` keeps tensor values (0-d, on the device) without
    synchronising, and plain numbers as they are; ``flush()`` copies every tensor
    recorded since the last flush in one transfer, appends all values to
    ``history`` (one list per name, and ``history["iteration"]``) and raises
    ``FloatingPointError`` naming the first iteration and quantity that is not
    finite, before that iteration reaches the history.
    """

    def __init__(self, history: dict):
        self.history, self.pending = history, []
        history.setdefault("iteration", [])

    def record(self, iteration: int, **values: torch.Tensor | float) -> None:
        tensors = [name for name, value in values.items() if isinstance(value, torch.Tensor)]
        stacked = torch.stack([values[name] for name in tensors]) if tensors else None
        numbers = {name: value for name, value in values.items() if name not in tensors}
        self.pending.append((iteration, tensors, stacked, numbers))

    def flush(self) -> dict | None:
        """Move the pending values to the history; return the last iteration's, or ``None`` if none."""
        if not self.pending:
            return None
        stacks = [stacked for _, _, stacked, _ in self.pending if stacked is not None]
        copied = iter(torch.stack(stacks).tolist() if stacks else [])   # the one synchronisation
        pending, self.pending = self.pending, []
        for iteration, tensors, stacked, numbers in pending:
            row = dict(zip(tensors, next(copied))) if stacked is not None else {}
            for name, value in row.items():
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"iteration {iteration}: the {name.replace('_', ' ')} is {value}; stopping instead of "
                        f"training on it (the last checkpoint is intact; try a smaller learning rate)")
            self.history["iteration"].append(iteration)
            for name, value in {**row, **numbers}.items():
                self.history.setdefault(name, []).append(value)
        return {**row, **numbers}


def evaluate_models(evaluate: Evaluation, *models: nn.Module) -> dict:
    """``evaluate(*models)`` in eval mode without gradients, models back in train mode after.

    Returns its dict with each value as the history keeps it: a number as a float,
    a tensor of several values (say, samples from fixed codes) on the CPU.
    """
    modes = [model.training for model in models]
    for model in models:
        model.eval()
    try:
        with torch.no_grad():
            values = evaluate(*models)
    finally:
        for model, mode in zip(models, modes):
            model.train(mode)
    if not isinstance(values, dict):
        raise TypeError(f"an evaluation must return a dict of named values, got {type(values).__name__}")
    return {name: value.detach().cpu() if isinstance(value, torch.Tensor) and value.numel() > 1 else float(value)
            for name, value in values.items()}


def _append_evaluation(history: dict, iteration: int, values: dict) -> None:
    evaluations = history["metrics"]
    names = set(evaluations) - {"iteration"}
    if evaluations["iteration"] and names != set(values):
        raise ValueError(f"the evaluation returned {sorted(values)}, earlier ones {sorted(names)}: "
                         "an evaluation must always return the same names (use another checkpoint path)")
    evaluations["iteration"].append(iteration)
    for name, value in values.items():
        evaluations.setdefault(name, []).append(value)


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """``torch.save(state, path)`` atomically: written to a temporary file, then renamed.

    A crash or an interrupt during the write leaves the previous checkpoint intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(state, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint written by :func:`train_gan`, on the CPU, with ``weights_only=True``.

    Everything stays on the CPU: ``load_state_dict`` copies weights and optimiser
    state to their models' device, and random-number states must be CPU byte
    tensors. Raises ``FileNotFoundError`` if the file does not exist and
    ``RuntimeError`` with the path and what to do if it is truncated, corrupt or not
    one of ours.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        reason = (str(err).strip().splitlines() or [""])[0][:200]
        raise RuntimeError(f"checkpoint {path} is corrupt or unreadable; delete it to train from scratch "
                           f"({type(err).__name__}: {reason})") from err
    missing = {"format", "config", "iteration", "history", "random_state"} - set(
        state if isinstance(state, dict) else ())
    if missing or state.get("format") != CHECKPOINT_FORMAT:
        raise RuntimeError(f"{path} is not a training checkpoint of format {CHECKPOINT_FORMAT} "
                           f"(missing {sorted(missing)}); delete it to train from scratch")
    return state


def checkpoint_state(iteration: int, config: dict, history: dict, rng: torch.Generator, **objects) -> dict:
    """Everything a run needs to continue exactly: the state dicts of ``objects`` (models,
    optimisers, by name), the loop's ``rng``, torch's global random state, history and settings."""
    random_state = {"rng": rng.get_state(), "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}
    return {"format": CHECKPOINT_FORMAT, "config": config, "iteration": iteration, "history": history,
            "random_state": random_state, **{name: obj.state_dict() for name, obj in objects.items()}}


def restore_checkpoint(path: str | os.PathLike, config: dict, rng: torch.Generator, **objects) -> dict:
    """Load the checkpoint at ``path`` into ``objects`` and ``rng``; return it (iteration, history, …).

    Refuses, with a message saying what differs, a checkpoint written with other
    settings (``config``) or for other models or optimisers.
    """
    saved = load_checkpoint(path)
    if saved["config"] != config:
        changed = sorted(k for k in {*config, *saved["config"]} if saved["config"].get(k) != config.get(k))
        raise ValueError(f"checkpoint {path} was written with other settings ({', '.join(changed)}: "
                         f"{[saved['config'].get(k) for k in changed]} there, {[config.get(k) for k in changed]} "
                         f"here); use another path or delete it")
    try:
        for name, obj in objects.items():
            obj.load_state_dict(saved[name])
    except (RuntimeError, ValueError, KeyError) as err:
        raise RuntimeError(f"checkpoint {path} does not fit these models or optimisers: {err}") from err
    random_state = saved["random_state"]
    rng.set_state(random_state["rng"])
    torch.set_rng_state(random_state["torch"])
    if random_state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(random_state["cuda"])
    return saved


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------

def train_gan(generator: nn.Module, critic: nn.Module, data: Sampler, *, loss: GANLoss,
              constraint: LipschitzConstraint | None = None, iterations: int, latent_dim: int,
              batch_size: int = 64, n_critic: int = 5, warmup: bool | None = None,
              generator_optimizer: torch.optim.Optimizer | None = None,
              critic_optimizer: torch.optim.Optimizer | None = None, seed: int = 0,
              evaluate: Evaluation | None = None, evaluate_every: int = 100,
              checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 500,
              log_every: int = 50, progress: bool = True, desc: str | None = None) -> dict:
    """Train ``generator`` against ``critic`` for ``iterations`` generator updates; return the history.

    ``data``: real samples on the models' device (batches drawn by index, with
    replacement), or a function ``n ↦ n fresh samples``. Codes are z ~ N(0, I) of
    size ``latent_dim``. All randomness of the loop (batches, codes, the penalty's
    interpolation) comes from one ``torch.Generator`` seeded with ``seed``; the
    models' initialisation is the caller's. ``warmup`` (default: on with weight
    clipping) is :func:`critic_iterations`'. Without optimisers,
    :func:`paper_optimizers`.

    The history has one entry per generator iteration in ``"iteration"``,
    :data:`HISTORY_KEYS`, ``"critic_steps"`` (cumulative) and ``"time"``
    (cumulative training seconds, without evaluations and checkpoints), copied
    from the device every ``log_every`` iterations. ``evaluate(generator, critic)``
    returns a dict of named values (numbers, or tensors such as samples from fixed
    codes); it runs at iteration 0, every ``evaluate_every`` iterations and at the
    end, and its values go to ``history["metrics"]`` with their ``"iteration"``.

    With ``checkpoint`` (a file path), the state is saved there every
    ``checkpoint_every`` iterations and at the end, and a run finding the file
    resumes from it with the same result as an uninterrupted run (up to the wall
    times). A non-finite loss or estimate stops training with a
    ``FloatingPointError`` naming the iteration and the quantity, before any
    checkpoint records it.
    """
    constraint = LipschitzConstraint() if constraint is None else constraint
    device = _check_training(generator, critic, data, loss, constraint, iterations=iterations,
                             latent_dim=latent_dim, batch_size=batch_size, n_critic=n_critic, seed=seed,
                             evaluate_every=evaluate_every, checkpoint_every=checkpoint_every, log_every=log_every)
    warmup = isinstance(constraint, WeightClipping) if warmup is None else bool(warmup)
    if generator_optimizer is None or critic_optimizer is None:
        paper_g, paper_c = paper_optimizers(loss, constraint, generator, critic)
        generator_optimizer = paper_g if generator_optimizer is None else generator_optimizer
        critic_optimizer = paper_c if critic_optimizer is None else critic_optimizer
    config = {"loss": loss.name, "constraint": constraint.config(), "latent_dim": latent_dim,
              "batch_size": batch_size, "n_critic": n_critic, "warmup": warmup, "seed": seed}
    rng = torch.Generator(device=device).manual_seed(seed)
    objects = {"generator": generator, "critic": critic, "generator_optimizer": generator_optimizer,
               "critic_optimizer": critic_optimizer}

    history, start = {"iteration": [], **{key: [] for key in HISTORY_KEYS}, "critic_steps": [], "time": [],
                      "metrics": {"iteration": []}}, 0
    if checkpoint is not None and Path(checkpoint).is_file():
        saved = restore_checkpoint(checkpoint, config, rng, **objects)
        history, start = saved["history"], saved["iteration"]
    history["device"] = torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)
    log = TrainingLog(history)
    critic_steps = history["critic_steps"][-1] if history["critic_steps"] else 0
    elapsed = history["time"][-1] if history["time"] else 0.0
    label = "W1 estimate" if loss.name == WASSERSTEIN.name else "f(x) − f(G(z))"
    bar = tqdm(range(start, iterations), initial=start, total=iterations, disable=not progress,
               desc=desc or f"{loss.name} / {constraint.name}", unit="it", mininterval=0.5)

    generator.train(), critic.train()
    if start == 0 and evaluate is not None:
        _append_evaluation(history, 0, evaluate_models(evaluate, generator, critic))
    try:
        for iteration in bar:
            tic = time.perf_counter()
            # 1. The critic: n_critic updates towards the maximum of its objective (the sup in W1's dual).
            for _ in range(critic_iterations(iteration, n_critic, warmup)):
                real = draw_batch(data, batch_size, rng)
                with torch.no_grad():
                    fake = generator(latent_codes(batch_size, latent_dim, rng))
                step = critic_step(critic, critic_optimizer, loss, constraint, real, fake, rng)
                critic_steps += 1
            # 2. The generator: one update through the frozen critic.
            generator_loss = generator_step(generator, critic, generator_optimizer, loss,
                                            latent_codes(batch_size, latent_dim, rng))
            elapsed += time.perf_counter() - tic
            # 3. Bookkeeping: statistics stay on the device until the next flush.
            done = iteration + 1
            log.record(done, critic_loss=step.loss, estimate=step.estimate, penalty=step.penalty,
                       generator_loss=generator_loss, critic_steps=critic_steps, time=elapsed)
            evaluate_now = evaluate is not None and (done % evaluate_every == 0 or done == iterations)
            checkpoint_now = checkpoint is not None and (done % checkpoint_every == 0 or done == iterations)
            if done % log_every == 0 or evaluate_now or checkpoint_now or done == iterations:
                tic = time.perf_counter()
                last = log.flush()   # the one host–device transfer; raises on a non-finite value
                elapsed += time.perf_counter() - tic
                bar.set_postfix({label: f"{last['estimate']:.4f}"}, refresh=False)
            if evaluate_now:
                _append_evaluation(history, done, evaluate_models(evaluate, generator, critic))
            if checkpoint_now:
                save_checkpoint(checkpoint, checkpoint_state(done, config, history, rng, **objects))
    finally:   # also when the guard or an interrupt stops the loop: leave the models usable
        bar.close()
        generator.eval(), critic.eval()
    return history


def _check_training(generator, critic, data, loss, constraint, **counts) -> torch.device:
    """Refuse bad arguments with a clear message; return the models' device."""
    for label, value in counts.items():
        minimum = 0 if label in ("iterations", "seed") else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            kind = "non-negative" if minimum == 0 else "positive"
            raise ValueError(f"{label} must be a {kind} integer, got {value!r}")
    if not isinstance(loss, GANLoss):
        raise TypeError(f"loss must be a GANLoss (e.g. WASSERSTEIN, NON_SATURATING), got {loss!r}")
    if not isinstance(constraint, LipschitzConstraint):
        raise TypeError(f"constraint must be None, WeightClipping, GradientPenalty or SpectralNormalization, "
                        f"got {constraint!r}")
    constraint.check(critic)
    devices = {}
    for label, model in (("generator", generator), ("critic", critic)):
        parameter = next(model.parameters(), None)
        if parameter is None:
            raise ValueError(f"the {label} has no parameters to train")
        devices[label] = parameter.device
    if devices["critic"] != devices["generator"]:
        raise ValueError(f"the generator is on {devices['generator']} but the critic on {devices['critic']}")
    device = devices["generator"]
    if isinstance(data, torch.Tensor):
        if data.ndim < 2 or len(data) == 0:
            raise ValueError(f"data must be a non-empty batch of samples (n, ...), got shape {tuple(data.shape)}")
        if data.device != device:
            raise ValueError(f"data are on {data.device} but the models on {device}: move them once with .to()")
        if not torch.isfinite(data).all():
            raise ValueError("data contain NaN or infinite values")
    elif not callable(data):
        raise TypeError(f"data must be a tensor or a function n ↦ samples, got {type(data).__name__}")
    return device
