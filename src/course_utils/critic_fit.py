"""Train a critic against two fixed distributions: the dual side of W1, on its own.

With the generator frozen, the critic's half of a WGAN is the Kantorovich–Rubinstein
problem  max over 1-Lipschitz f of  E_real f(x) − E_fake f(y),  whose value is
W1(real, fake). :func:`fit_critic` runs gradient ascent on that objective, under
one of the Lipschitz constraints of :mod:`course_utils.lipschitz`:

    for step in 1 … steps:
        x ← batch of real samples,  y ← batch of fake samples
        loss ← mean f(y) − mean f(x)  [+ λ · penalty(x, y)]      (−loss estimates W1)
        one optimiser step on loss
        [clip every weight to [−c, c]]

This is Algorithm 1 of the WGAN paper (Arjovsky et al., 2017) and of WGAN-GP
(Gulrajani et al., 2017) without the generator's update.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from tqdm.auto import tqdm

from .lipschitz import clip_weights, gradient_penalty

__all__ = ["critic_estimate", "draw_batch", "fit_critic"]

Sampler = torch.Tensor | Callable[[int], torch.Tensor]


def draw_batch(source: Sampler, size: int, generator: torch.Generator | None) -> torch.Tensor:
    """A batch drawn by index from a tensor (with replacement), or from a sampling function."""
    if isinstance(source, torch.Tensor):
        index = torch.randint(len(source), (size,), device=source.device, generator=generator)
        return source[index]
    return source(size)


@torch.no_grad()
def critic_estimate(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> float:
    """mean f(real) − mean f(fake): the critic's estimate of W1 (exact for the optimal 1-Lipschitz f)."""
    return (critic(real).mean() - critic(fake).mean()).item()


def fit_critic(critic: nn.Module, real: Sampler, fake: Sampler, *, steps: int, batch_size: int = 256,
               optimizer: torch.optim.Optimizer | None = None, clip: float | None = None,
               lam: float | None = None, one_sided: bool = False,
               generator: torch.Generator | None = None, progress: bool = True,
               desc: str = "critic", track: Callable[[nn.Module], float] | None = None,
               track_every: int = 25) -> dict[str, list[float]]:
    """Maximise E_real f − E_fake f over the critic's parameters; return the history.

    ``real`` and ``fake`` are either tensors of samples (batches drawn by index)
    or functions ``n ↦ tensor of n samples``. ``clip`` clamps the weights after
    every step (WGAN); ``lam`` adds the gradient penalty (WGAN-GP). Without an
    ``optimizer``, the papers' choices: RMSProp(lr 5e-5) with clipping,
    Adam(lr 1e-4, β = (0.5, 0.9)) otherwise.

    The history has, per step, ``"estimate"`` (mean f(x) − mean f(y) on the
    batch, before the step) and ``"penalty"`` (0 without one). With ``track``, a
    function of the critic (e.g. its estimate on the full sample sets), it also has
    ``"tracked_step"`` and ``"tracked"``: the step count and ``track(critic)`` every
    ``track_every`` steps and at the end. A non-finite loss stops training with a
    ``FloatingPointError`` naming the step.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if clip is not None and (not isinstance(clip, (int, float)) or not math.isfinite(clip) or clip <= 0):
        raise ValueError(f"the clip value c must be a positive number, got {clip!r}")
    if lam is not None and (not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam < 0):
        raise ValueError(f"the penalty weight λ must be a non-negative number, got {lam!r}")
    for name, source in (("real", real), ("fake", fake)):
        if isinstance(source, torch.Tensor) and (source.ndim < 2 or len(source) == 0):
            raise ValueError(f"{name} must be a non-empty batch of shape (n, d), got {tuple(source.shape)}")
    if optimizer is None:
        if clip is not None:
            optimizer = torch.optim.RMSprop(critic.parameters(), lr=5e-5)
        else:
            optimizer = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    if isinstance(track_every, bool) or not isinstance(track_every, int) or track_every <= 0:
        raise ValueError(f"track_every must be a positive integer, got {track_every!r}")
    history: dict[str, list[float]] = {"estimate": [], "penalty": []}
    if track is not None:
        history["tracked_step"], history["tracked"] = [], []
    critic.train()
    bar = tqdm(range(steps), desc=desc, disable=not progress, leave=False, mininterval=0.5)
    for step in bar:
        x, y = draw_batch(real, batch_size, generator), draw_batch(fake, batch_size, generator)
        if x.shape[1:] != y.shape[1:]:
            raise ValueError(f"real and fake samples differ in shape: {tuple(x.shape[1:])} vs {tuple(y.shape[1:])}")
        estimate = critic(x).mean() - critic(y).mean()
        loss = -estimate
        penalty = torch.zeros((), device=x.device)
        if lam:
            penalty = gradient_penalty(critic, x, y, lam, one_sided=one_sided, generator=generator)
            loss = loss + penalty
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the critic's loss is {loss.item()} at step {step} "
                                     f"(estimate {estimate.item()}, penalty {penalty.item()}): stopping")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if clip is not None:
            clip_weights(critic, clip)
        history["estimate"].append(estimate.item())
        history["penalty"].append(penalty.item())
        if step % 50 == 0:
            bar.set_postfix(W1_estimate=f"{estimate.item():.4f}", refresh=False)
        if track is not None and ((step + 1) % track_every == 0 or step + 1 == steps):
            critic.eval()
            history["tracked_step"].append(step + 1)
            history["tracked"].append(float(track(critic)))
            critic.train()
    critic.eval()
    return history
