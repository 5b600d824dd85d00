"""One training loop for every GAN variant: GAN, WGAN, WGAN-GP and SN-WGAN.

The variants differ only by what is passed in: the loss pair
(:mod:`course_utils.gan_losses`) and the Lipschitz constraint
(:mod:`course_utils.lipschitz`). :func:`train_gan` is Algorithm 1 of the WGAN
paper (Arjovsky, Chintala & Bottou, ICML 2017) and of WGAN-GP (Gulrajani et al.,
NeurIPS 2017):

    for iteration = 1 … iterations:
        for t = 1 … n_critic:                                   (100 during the warm-up)
            x ← batch of real samples,  z ← batch of latent codes
            L_D ← critic_loss(f(x), f(G(z)))  [+ penalty]       (WGAN: E f(G(z)) − E f(x))
            one optimiser step on the critic
            [clip its weights to [−c, c]]                      (WGAN only)
        z ← batch of latent codes
        L_G ← generator_loss(f(G(z)))                          (WGAN: −E f(G(z)))
        one optimiser step on the generator

| variant  | loss             | constraint                     | default optimiser (paper)         |
|----------|------------------|--------------------------------|-----------------------------------|
| GAN      | NON_SATURATING   | None                           | Adam 2e-4, β = (0.5, 0.999)       |
| WGAN     | WASSERSTEIN      | WeightClipping(0.01)           | RMSProp 5e-5, warm-up on          |
| WGAN-GP  | WASSERSTEIN      | GradientPenalty(10)            | Adam 1e-4, β = (0.5, 0.9)         |
| SN-WGAN  | WASSERSTEIN      | SpectralNormalization()        | Adam 1e-4, β = (0.5, 0.9)         |

Around the algorithm, the loop keeps a history (losses, the critic's estimate,
penalty, gradient norms, wall time, metrics passed as callbacks), shows a
``tqdm.auto`` bar, stops on a non-finite value with a message naming the iteration
and the quantity, and writes checkpoints atomically from which an interrupted run
resumes exactly where it stopped (models, optimisers, random state, history).
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .critic_fit import draw_batch
from .gan_losses import GANLoss, WASSERSTEIN
from .lipschitz import LipschitzConstraint, WeightClipping

__all__ = ["CHECKPOINT_FORMAT", "HISTORY_KEYS", "critic_iterations", "default_optimizers",
           "load_checkpoint", "save_checkpoint", "train_gan"]

CHECKPOINT_FORMAT = 1
HISTORY_KEYS = ("critic_loss", "estimate", "penalty", "generator_loss", "critic_grad_norm",
                "generator_grad_norm")
"""Recorded once per generator iteration, from the last critic step and the generator step."""

Metric = Callable[[nn.Module, nn.Module], "float | torch.Tensor"]


def _metric_value(value):
    """A metric's value as it is kept in the history: a float, or a tensor (e.g. samples) on the CPU."""
    if isinstance(value, torch.Tensor) and value.numel() > 1:
        return value.detach().cpu()
    return float(value)


def critic_iterations(iteration: int, n_critic: int, warmup: bool) -> int:
    """Critic updates before generator update number ``iteration`` (counted from 0).

    With the WGAN paper's warm-up, 100 for the first 25 generator iterations and
    every 500th (so that the critic is close to optimal when its gradient matters),
    otherwise ``n_critic``.
    """
    if warmup and (iteration < 25 or iteration % 500 == 0):
        return max(100, n_critic)
    return n_critic


def default_optimizers(loss: GANLoss, constraint: LipschitzConstraint | None, generator: nn.Module,
                       critic: nn.Module) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """The papers' optimisers, as (generator's, critic's).

    Clipping: RMSProp, lr 5e-5 (WGAN: momentum made the clipped critic unstable).
    Other Wasserstein critics: Adam, lr 1e-4, β = (0.5, 0.9) (WGAN-GP).
    GAN losses: Adam, lr 2e-4, β = (0.5, 0.999) (DCGAN, Radford et al. 2016).
    """
    if isinstance(constraint, WeightClipping):
        return (torch.optim.RMSprop(generator.parameters(), lr=5e-5),
                torch.optim.RMSprop(critic.parameters(), lr=5e-5))
    lr, betas = (1e-4, (0.5, 0.9)) if loss.name == WASSERSTEIN.name else (2e-4, (0.5, 0.999))
    return (torch.optim.Adam(generator.parameters(), lr=lr, betas=betas),
            torch.optim.Adam(critic.parameters(), lr=lr, betas=betas))


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


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device | None = "cpu") -> dict:
    """Load a checkpoint written by :func:`train_gan`, with ``weights_only=True``.

    Raises ``FileNotFoundError`` if it does not exist and ``RuntimeError`` with the
    path and what to do if it is truncated, corrupt or not one of ours.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        reason = (str(err).strip().splitlines() or [""])[0][:200]
        raise RuntimeError(f"checkpoint {path} is corrupt or unreadable; delete it to train from scratch "
                           f"({type(err).__name__}: {reason})") from err
    missing = {"format", "config", "iteration", "generator", "critic", "history"} - set(
        state if isinstance(state, dict) else ())
    if missing or state.get("format") != CHECKPOINT_FORMAT:
        raise RuntimeError(f"{path} is not a training checkpoint of format {CHECKPOINT_FORMAT} "
                           f"(missing {sorted(missing)}); delete it to train from scratch")
    return state


def _positive_int(value, label: str, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{label} must be a {'non-negative' if allow_zero else 'positive'} integer, got {value!r}")
    return value


def _device_of(module: nn.Module, label: str) -> torch.device:
    parameter = next(module.parameters(), None)
    if parameter is None:
        raise ValueError(f"the {label} has no parameters to train")
    return parameter.device


def train_gan(generator: nn.Module, critic: nn.Module, data: torch.Tensor | Callable[[int], torch.Tensor], *,
              loss: GANLoss, constraint: LipschitzConstraint | None = None, iterations: int,
              latent_dim: int, batch_size: int = 64, n_critic: int = 5, warmup: bool | None = None,
              generator_optimizer: torch.optim.Optimizer | None = None,
              critic_optimizer: torch.optim.Optimizer | None = None, seed: int = 0,
              metrics: Mapping[str, Metric] | None = None, metric_every: int = 100,
              checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 500,
              progress: bool = True, desc: str | None = None) -> dict:
    """Train ``generator`` against ``critic`` for ``iterations`` generator updates; return the history.

    ``data`` is a tensor of real samples on the models' device (batches drawn by
    index, with replacement) or a function ``n ↦ n fresh samples``. Latent codes
    are z ~ N(0, I) of size ``latent_dim``. All randomness of the loop (batches,
    codes, the penalty's interpolation) comes from one ``torch.Generator`` seeded
    with ``seed``; the models' initialisation is the caller's, and so is the
    randomness of a ``data`` function (pass a tensor for an exact resume).

    ``warmup`` (default: on for weight clipping only) gives the critic 100 updates
    for the first 25 generator iterations and every 500th, as in the WGAN code.
    Without optimisers, :func:`default_optimizers` picks the papers'.

    The history has one entry per generator iteration in ``"iteration"`` (1, 2, …),
    :data:`HISTORY_KEYS` (from the last critic step; ``"estimate"`` is
    mean f(x) − mean f(G(z)), the critic's estimate of W1 for a Wasserstein loss;
    ``"penalty"`` is 0 without one), ``"critic_steps"`` (cumulative) and
    ``"time"`` (cumulative training seconds, without metrics and checkpoints).
    ``metrics``, functions ``(generator, critic) ↦ float`` evaluated in eval mode
    without gradients at iteration 0, every ``metric_every`` iterations and at the
    end, go to ``history["metrics"]`` with their ``"iteration"``; a metric may also
    return a tensor (say, samples from fixed codes), kept on the CPU.
    ``history["device"]`` names the device of the last (or current) run.

    With ``checkpoint`` (a file path), the state is saved there every
    ``checkpoint_every`` iterations and at the end, and a run finding the file
    resumes from it: the result is the same as an uninterrupted run (up to the wall
    times). A run already complete returns at once. A non-finite loss, estimate or
    gradient norm stops training with a ``FloatingPointError`` naming the
    iteration and the quantity, before any checkpoint records it.
    """
    _positive_int(iterations, "iterations", allow_zero=True)
    _positive_int(latent_dim, "latent_dim")
    _positive_int(batch_size, "batch_size")
    _positive_int(n_critic, "n_critic")
    _positive_int(metric_every, "metric_every")
    _positive_int(checkpoint_every, "checkpoint_every")
    _positive_int(seed, "seed", allow_zero=True)
    if not isinstance(loss, GANLoss):
        raise TypeError(f"loss must be a GANLoss (e.g. WASSERSTEIN, NON_SATURATING), got {loss!r}")
    constraint = LipschitzConstraint() if constraint is None else constraint
    if not isinstance(constraint, LipschitzConstraint):
        raise TypeError(f"constraint must be None, WeightClipping, GradientPenalty or SpectralNormalization, "
                        f"got {constraint!r}")
    constraint.check(critic)
    device = _device_of(generator, "generator")
    if _device_of(critic, "critic") != device:
        raise ValueError(f"the generator is on {device} but the critic on {_device_of(critic, 'critic')}")
    if isinstance(data, torch.Tensor):
        if data.ndim < 2 or len(data) == 0:
            raise ValueError(f"data must be a non-empty batch of samples (n, ...), got shape {tuple(data.shape)}")
        if data.device != device:
            raise ValueError(f"data are on {data.device} but the models on {device}: move them once with .to()")
        if not torch.isfinite(data).all():
            raise ValueError("data contain NaN or infinite values")
    elif not callable(data):
        raise TypeError(f"data must be a tensor or a function n ↦ samples, got {type(data).__name__}")
    warmup = isinstance(constraint, WeightClipping) if warmup is None else bool(warmup)
    if generator_optimizer is None or critic_optimizer is None:
        default_g, default_c = default_optimizers(loss, constraint, generator, critic)
        generator_optimizer = default_g if generator_optimizer is None else generator_optimizer
        critic_optimizer = default_c if critic_optimizer is None else critic_optimizer
    metrics = dict(metrics or {})
    config = {"loss": loss.name, "constraint": constraint.config(), "latent_dim": latent_dim,
              "batch_size": batch_size, "n_critic": n_critic, "warmup": warmup, "seed": seed}
    rng = torch.Generator(device=device).manual_seed(seed)
    # Without batch norm a sample's score does not depend on the others in its batch, so real
    # and generated samples can go through the critic together; with it, they must not mix.
    joint_pass = not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())

    def latent(n: int) -> torch.Tensor:
        return torch.randn(n, latent_dim, device=device, generator=rng)

    def evaluate_metrics(iteration: int) -> None:
        generator.eval(), critic.eval()
        with torch.no_grad():
            values = {name: _metric_value(metric(generator, critic)) for name, metric in metrics.items()}
        generator.train(), critic.train()
        history["metrics"]["iteration"].append(iteration)
        for name, value in values.items():
            history["metrics"][name].append(value)

    def state(iteration: int) -> dict:
        return {"format": CHECKPOINT_FORMAT, "config": config, "iteration": iteration,
                "generator": generator.state_dict(), "critic": critic.state_dict(),
                "generator_optimizer": generator_optimizer.state_dict(),
                "critic_optimizer": critic_optimizer.state_dict(), "rng": rng.get_state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "history": history}

    history = {"iteration": [], **{key: [] for key in HISTORY_KEYS}, "critic_steps": [], "time": [],
               "metrics": {"iteration": [], **{name: [] for name in metrics}}}
    start = 0
    if checkpoint is not None and Path(checkpoint).is_file():
        saved = load_checkpoint(checkpoint, map_location=device)
        if saved["config"] != config:
            changed = sorted(k for k in config if saved["config"].get(k) != config[k])
            raise ValueError(f"checkpoint {checkpoint} was written with other settings ({', '.join(changed)}: "
                             f"{[saved['config'].get(k) for k in changed]} there, {[config[k] for k in changed]} "
                             f"here); use another path or delete it")
        if set(saved["history"]["metrics"]) != set(history["metrics"]):
            raise ValueError(f"checkpoint {checkpoint} tracked the metrics {sorted(saved['history']['metrics'])}, "
                             f"this run {sorted(history['metrics'])}; use another path or delete it")
        try:
            generator.load_state_dict(saved["generator"])
            critic.load_state_dict(saved["critic"])
            generator_optimizer.load_state_dict(saved["generator_optimizer"])
            critic_optimizer.load_state_dict(saved["critic_optimizer"])
        except (RuntimeError, ValueError, KeyError) as err:
            raise RuntimeError(f"checkpoint {checkpoint} does not fit these models or optimisers: {err}") from err
        rng.set_state(saved["rng"])
        torch.set_rng_state(saved["torch_rng"])
        if saved["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(saved["cuda_rng"])
        history, start = saved["history"], saved["iteration"]
    history["device"] = torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)

    generator.train(), critic.train()
    if start == 0 and metrics:
        evaluate_metrics(0)
    critic_steps = history["critic_steps"][-1] if history["critic_steps"] else 0
    elapsed = history["time"][-1] if history["time"] else 0.0
    bar = tqdm(range(start, iterations), initial=start, total=iterations, disable=not progress,
               desc=desc or f"{loss.name} / {constraint.name}", unit="it", mininterval=0.5)
    try:
        for iteration in bar:
            tic = time.perf_counter()
            # Critic: n_critic updates towards the maximum of its objective (the sup in W1's dual).
            critic.requires_grad_(True)
            for _ in range(critic_iterations(iteration, n_critic, warmup)):
                real = draw_batch(data, batch_size, rng)
                with torch.no_grad():
                    fake = generator(latent(len(real)))
                if joint_pass:   # one forward pass for both halves: fewer, larger matrix products
                    scores = critic(torch.cat([real, fake]))
                    real_scores, fake_scores = scores[:len(real)], scores[len(real):]
                else:
                    real_scores, fake_scores = critic(real), critic(fake)
                critic_loss = loss.critic(real_scores, fake_scores)
                penalty = constraint.penalty(critic, real, fake, rng)
                critic_optimizer.zero_grad(set_to_none=True)
                (critic_loss if penalty is None else critic_loss + penalty).backward()
                critic_optimizer.step()
                constraint.after_step(critic)
                critic_steps += 1
            critic_grad_norm = nn.utils.get_total_norm([p.grad for p in critic.parameters()
                                                        if p.grad is not None])
            estimate = real_scores.detach().mean() - fake_scores.detach().mean()
            # Generator: one update through the frozen critic.
            critic.requires_grad_(False)
            generator_loss = loss.generator(critic(generator(latent(batch_size))))
            generator_optimizer.zero_grad(set_to_none=True)
            generator_loss.backward()
            generator_optimizer.step()
            generator_grad_norm = nn.utils.get_total_norm([p.grad for p in generator.parameters()
                                                           if p.grad is not None])
            # One host–device transfer per iteration: record, then refuse to go on from a non-finite state.
            penalty = torch.zeros((), device=device) if penalty is None else penalty
            values = torch.stack([critic_loss.detach(), estimate, penalty.detach(), generator_loss.detach(),
                                  critic_grad_norm, generator_grad_norm]).tolist()
            elapsed += time.perf_counter() - tic
            for key, value in zip(HISTORY_KEYS, values):
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"iteration {iteration + 1}: the {key.replace('_', ' ')} is {value}; stopping instead of "
                        f"training on it (the last checkpoint is intact; try a smaller learning rate)")
            for key, value in zip(HISTORY_KEYS, values):
                history[key].append(value)
            history["iteration"].append(iteration + 1)
            history["critic_steps"].append(critic_steps)
            history["time"].append(elapsed)
            label = "W1 estimate" if loss.name == WASSERSTEIN.name else "f(x) − f(G(z))"
            bar.set_postfix({label: f"{values[1]:.4f}"}, refresh=False)
            done = iteration + 1
            if metrics and (done % metric_every == 0 or done == iterations):
                evaluate_metrics(done)
            if checkpoint is not None and (done % checkpoint_every == 0 or done == iterations):
                save_checkpoint(checkpoint, state(done))
    finally:   # also when the guard or an interrupt stops the loop: leave the models usable
        bar.close()
        critic.requires_grad_(True)
        generator.eval(), critic.eval()
    return history
