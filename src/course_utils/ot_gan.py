"""OT-GAN: a generator trained on minibatch Sinkhorn distances, under a cost a critic learns.

Salimans, Zhang, Radford & Metaxas, "Improving GANs using optimal transport"
(ICLR 2018). For minibatches X, X′ of real samples and Y, Y′ of generated ones
(independent, each of size B), and a cost c, let W_c(X, Y) = ⟨P, C⟩, where C is the
B × B cost matrix and P the entropic plan (:mod:`course_utils.entropic_ot`)
held fixed. The minibatch energy distance is

    D²_MED = 2 E[W_c(X, Y)] − E[W_c(X, X′)] − E[W_c(Y, Y′)],

and :func:`minibatch_energy_distance` estimates it from the four batches with
every cross pair (the paper's loss, halved):

    ½ [W_c(X, Y) + W_c(X, Y′) + W_c(X′, Y) + W_c(X′, Y′)] − W_c(X, X′) − W_c(Y, Y′).

The cost is learned: c(x, y) = 1 − ⟨v(x), v(y)⟩ / (‖v(x)‖ ‖v(y)‖), the cosine
distance between a critic's features (:func:`cosine_cost`, :func:`feature_critic`).
The generator minimises D²_MED and the critic maximises it; Algorithm 1 of the
paper updates the critic once every n_gen + 1 iterations and the generator
otherwise (n_gen = 3 in the paper, 5 in the authors' code). With a fixed pixel
cost (:func:`pixel_cost`) and no critic, the same loop is the Sinkhorn GAN
baseline of Genevay, Peyré & Cuturi (AISTATS 2018).

What this module changes from the paper, for two CPU cores: ε = 0.1 rather than
0.002 (the authors' ``sinkhorn_lambda = 500`` is 1/ε), solved to a tolerance of
1e-4 rather than for 500 iterations, batches of 64 to 256 rather than 8,000, and
the DCGAN-sized networks of the other MNIST chapters. The six Sinkhorn problems of
a step are solved at once by POT's ``ot.batch.solve_batch``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import ot
import torch
from torch import nn
from tqdm.auto import tqdm

from .models import mlp
from .optimal_transport import wasserstein
from .toy_data import mode_statistics
from .training import (TrainingLog, checkpoint_state, draw_batch, evaluate_models, latent_codes,
                       restore_checkpoint, save_checkpoint)

__all__ = ["batch_transport_costs", "cosine_cost", "feature_critic", "feature_critic_mlp",
           "minibatch_energy_distance", "ot_gan_optimizers", "pixel_cost", "toy_ot_evaluation",
           "train_ot_gan"]

# ---------------------------------------------------------------------------------------------
# Costs and critics
# ---------------------------------------------------------------------------------------------

def cosine_cost(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Cᵢⱼ = 1 − ⟨uᵢ, vⱼ⟩ / (‖uᵢ‖ ‖vⱼ‖), in [0, 2], for features u (n, k) and v (m, k).

    Features are L2-normalised first (with a floor of 1e-8 on the norm, so a zero
    feature vector gives a finite cost).
    """
    _check_features(u, v)
    u, v = nn.functional.normalize(u, dim=-1, eps=1e-8), nn.functional.normalize(v, dim=-1, eps=1e-8)
    return 1 - u @ v.transpose(-1, -2)


def pixel_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cᵢⱼ = ‖xᵢ − yⱼ‖² / d, the mean squared difference of two flattened images (d pixels).

    In [0, 4] for images in [−1, 1]: the scale of :func:`cosine_cost`, so one ε serves both.
    """
    x, y = x.flatten(1), y.flatten(1)
    _check_features(x, y)
    return torch.cdist(x, y).square() / x.shape[1]


def _check_features(u: torch.Tensor, v: torch.Tensor) -> None:
    if u.ndim != 2 or v.ndim != 2 or len(u) == 0 or len(v) == 0:
        raise ValueError(f"expected two non-empty batches (n, k), got shapes {tuple(u.shape)} and {tuple(v.shape)}")
    if u.shape[1] != v.shape[1]:
        raise ValueError(f"the two batches have {u.shape[1]} and {v.shape[1]} features")


def feature_critic(width: int = 16, features: int = 256) -> nn.Sequential:
    """images (n, 1, 28, 28) ↦ features (n, ``features``): the DCGAN critic's body with a wide head.

    The convolutions of :func:`course_utils.conv_models.dcgan_critic` (LeakyReLU 0.2,
    no normalisation), then a linear map to ``features`` numbers instead of one
    score; :func:`cosine_cost` normalises them.
    """
    for label, value in (("width", width), ("features", features)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{label} must be a positive integer, got {value!r}")
    return nn.Sequential(
        nn.Conv2d(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(2 * width * 7 * 7, features),
    )


def feature_critic_mlp(width: int = 128, features: int = 32, in_features: int = 2) -> nn.Sequential:
    """points (n, ``in_features``) ↦ features (n, ``features``): an MLP of 3 × ``width`` ReLU units."""
    return mlp(in_features, features, width)


# ---------------------------------------------------------------------------------------------
# The loss
# ---------------------------------------------------------------------------------------------

def _check_epsilon(epsilon) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0 < epsilon < float("inf"):
        raise ValueError(f"epsilon (the entropic regularisation ε = 1/λ) must be a positive finite number, "
                         f"got {epsilon!r}")
    return float(epsilon)


def batch_transport_costs(costs: torch.Tensor, epsilon: float, *, max_iter: int = 1000,
                          tol: float = 1e-4) -> tuple[torch.Tensor, torch.Tensor]:
    """⟨Pₖ, Cₖ⟩ for a stack of cost matrices (K, B, B), with each entropic plan Pₖ held fixed.

    The plans come from log-domain Sinkhorn on all K problems at once
    (``ot.batch.solve_batch``); no gradient flows through the iterations, only
    through the costs (the paper's choice: by the envelope theorem it is the
    gradient of the entropic value W_ε). Returns the K values and the plans.
    """
    epsilon = _check_epsilon(epsilon)
    if costs.ndim != 3 or 0 in costs.shape:
        raise ValueError(f"expected a non-empty stack of cost matrices (K, n, m), got {tuple(costs.shape)}")
    if not torch.isfinite(costs).all():
        raise ValueError("a cost matrix contains NaN or infinite values")
    result = ot.batch.solve_batch(costs.detach(), reg=epsilon, method="log_sinkhorn", max_iter=max_iter,
                                  tol=tol, grad="detach")
    plans = result.plan
    return (plans * costs).sum(dim=(1, 2)), plans


def minibatch_energy_distance(x: torch.Tensor, x2: torch.Tensor, y: torch.Tensor, y2: torch.Tensor, *,
                              cost: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = cosine_cost,
                              epsilon: float, **sinkhorn_options) -> torch.Tensor:
    """The estimate of D²_MED from real batches ``x``, ``x2`` and generated ``y``, ``y2`` (see the module).

    ``cost(u, v)`` maps two batches to their cost matrix (features for
    :func:`cosine_cost`, images for :func:`pixel_cost`). All four batches must
    have the same size. Differentiable in all four through the costs.
    """
    batches = (x, x2, y, y2)
    sizes = {len(t) for t in batches}
    if 0 in sizes:
        raise ValueError("a minibatch is empty")
    if len(sizes) != 1:
        raise ValueError(f"the four minibatches must have the same size, got {[len(t) for t in batches]}")
    pairs = [(x, y), (x, y2), (x2, y), (x2, y2), (x, x2), (y, y2)]
    costs = torch.stack([cost(u, v) for u, v in pairs])
    w, _ = batch_transport_costs(costs, epsilon, **sinkhorn_options)
    return 0.5 * w[:4].sum() - w[4] - w[5]


# ---------------------------------------------------------------------------------------------
# Training (Algorithm 1 of Salimans et al.)
# ---------------------------------------------------------------------------------------------

def ot_gan_optimizers(generator: nn.Module, critic: nn.Module | None, lr: float = 3e-4):
    """Adam, lr 3e-4, β = (0.5, 0.999), for both networks (the paper's settings): (generator's, critic's)."""
    make = lambda module: torch.optim.Adam(module.parameters(), lr=lr, betas=(0.5, 0.999))
    return make(generator), (None if critic is None else make(critic))


def _features(critic: nn.Module | None, images: torch.Tensor) -> torch.Tensor:
    return images if critic is None else critic(images)


def train_ot_gan(generator: nn.Module, critic: nn.Module | None, data: torch.Tensor, *, cost=cosine_cost,
                 epsilon: float, iterations: int, latent_dim: int, batch_size: int = 64, n_gen: int = 3,
                 generator_optimizer=None, critic_optimizer=None, seed: int = 0,
                 evaluate: Callable | None = None, evaluate_every: int = 100, checkpoint=None,
                 log_every: int = 50, progress: bool = True, desc: str = "OT-GAN") -> dict:
    """Algorithm 1 of Salimans et al.: ``iterations`` updates, the critic's every ``n_gen + 1``-th.

    Each iteration draws X, X′ from ``data`` and Y, Y′ = G(z), G(z′), and computes
    L = :func:`minibatch_energy_distance` of their features under ``cost``. If
    ``iteration % (n_gen + 1) == 0`` the critic takes a step up L, else the generator
    a step down. ``critic=None`` trains the generator alone under ``cost`` on the
    samples themselves (the Sinkhorn GAN). The history holds ``"energy"`` (L),
    ``"generator_steps"``, ``"critic_steps"`` and ``"time"`` per iteration and the
    evaluations in ``"metrics"``; with ``checkpoint`` it is saved every
    ``evaluate_every`` iterations, and an interrupted run resumes there. Data
    with NaN or infinite values are refused; a non-finite cost stops training with
    a ``ValueError`` and a non-finite loss with a ``FloatingPointError``, before
    any checkpoint records them.
    """
    for label, value in (("iterations", iterations), ("batch_size", batch_size), ("n_gen", n_gen),
                         ("evaluate_every", evaluate_every), ("log_every", log_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if label == "iterations" else 1):
            raise ValueError(f"{label} must be a {'non-negative' if label == 'iterations' else 'positive'} "
                             f"integer, got {value!r}")
    epsilon = _check_epsilon(epsilon)
    if not isinstance(data, torch.Tensor) or data.ndim < 2 or len(data) == 0:
        raise ValueError("data must be a non-empty tensor of samples (n, ...)")
    device = next(generator.parameters()).device
    if data.device != device:
        raise ValueError(f"data are on {data.device} but the generator on {device}: move them once with .to()")
    if not torch.isfinite(data).all():
        raise ValueError("data contain NaN or infinite values")
    default_generator, default_critic = ot_gan_optimizers(generator, critic)
    generator_optimizer = default_generator if generator_optimizer is None else generator_optimizer
    critic_optimizer = default_critic if critic_optimizer is None else critic_optimizer
    config = {"epsilon": epsilon, "batch_size": batch_size, "n_gen": n_gen, "latent_dim": latent_dim,
              "seed": seed, "critic": critic is not None}
    rng = torch.Generator(device=device).manual_seed(seed)
    objects = {"generator": generator, "generator_optimizer": generator_optimizer}
    if critic is not None:
        objects.update(critic=critic, critic_optimizer=critic_optimizer)
    history, start = {"iteration": [], "energy": [], "generator_steps": [], "critic_steps": [], "time": [],
                      "metrics": {"iteration": []}}, 0
    if checkpoint is not None and Path(checkpoint).is_file():
        saved = restore_checkpoint(checkpoint, config, rng, **objects)
        history, start = saved["history"], saved["iteration"]
    history["device"] = torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)
    log = TrainingLog(history)
    steps = {"generator": history["generator_steps"][-1] if start else 0,
             "critic": history["critic_steps"][-1] if start else 0}
    elapsed = history["time"][-1] if start else 0.0
    models = [m for m in (generator, critic) if m is not None]
    for model in models:
        model.train()

    def record_evaluation(done: int) -> None:
        values = (evaluate_models(evaluate, generator, critic) if critic is not None
                  else evaluate_models(lambda g: evaluate(g, None), generator))
        history["metrics"]["iteration"].append(done)
        for key, value in values.items():
            history["metrics"].setdefault(key, []).append(value)

    if start == 0 and evaluate is not None:
        record_evaluation(0)
    bar = tqdm(range(start, iterations), initial=start, total=iterations, disable=not progress, desc=desc,
               unit="it", mininterval=0.5)
    try:
        for iteration in bar:
            tic = time.perf_counter()
            critic_turn = critic is not None and iteration % (n_gen + 1) == 0
            # 1. Two real batches and two generated ones, independent.
            real = torch.cat([draw_batch(data, batch_size, rng), draw_batch(data, batch_size, rng)])
            z = latent_codes(2 * batch_size, latent_dim, rng)
            with torch.set_grad_enabled(not critic_turn):
                fake = generator(z)
            if critic is not None:
                critic.requires_grad_(critic_turn)
            # 2. Features of all four batches in one pass, the six costs, the plans held fixed.
            features = _features(critic, torch.cat([real, fake])).flatten(1)
            x, x2, y, y2 = features.split(batch_size)
            loss = minibatch_energy_distance(x, x2, y, y2, cost=cost, epsilon=epsilon)
            # 3. The critic ascends L; the generator descends it.
            optimizer = critic_optimizer if critic_turn else generator_optimizer
            optimizer.zero_grad(set_to_none=True)
            (-loss if critic_turn else loss).backward()
            optimizer.step()
            steps["critic" if critic_turn else "generator"] += 1
            elapsed += time.perf_counter() - tic
            done = iteration + 1
            log.record(done, energy=loss.detach(), generator_steps=steps["generator"],
                       critic_steps=steps["critic"], time=elapsed)
            evaluate_now = evaluate is not None and (done % evaluate_every == 0 or done == iterations)
            checkpoint_now = checkpoint is not None and (done % evaluate_every == 0 or done == iterations)
            if done % log_every == 0 or evaluate_now or checkpoint_now or done == iterations:
                last = log.flush()
                bar.set_postfix({"D²_MED": f"{last['energy']:.4f}"}, refresh=False)
            if evaluate_now:
                record_evaluation(done)
            if checkpoint_now:
                save_checkpoint(checkpoint, checkpoint_state(done, config, history, rng, **objects))
    finally:
        bar.close()
        if critic is not None:
            critic.requires_grad_(True)
        for model in models:
            model.eval()
    return history


def toy_ot_evaluation(name: str, bench: dict):
    """What a 2-D OT-GAN run records at each snapshot: the exact W1 from G(z) to the held-out
    points (POT), for the mixtures the modes covered and the share of high-quality samples, and
    the samples themselves (``bench`` from :func:`course_utils.toy_gans.toy_bench`)."""
    real, z = bench["real"], bench["z"]

    def evaluate(generator: nn.Module, critic: nn.Module | None) -> dict:
        fake = generator(z)
        values = {"exact W1": wasserstein(fake.cpu().numpy(), real.cpu().numpy()), "fake": fake}
        if name != "swissroll":
            stats = mode_statistics(fake, name)
            values.update({"modes": stats["modes"], "high quality": stats["high_quality"]})
        return values

    return evaluate
