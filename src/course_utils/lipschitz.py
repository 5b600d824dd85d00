"""Keeping a critic Lipschitz, and measuring how Lipschitz it is.

The Kantorovich–Rubinstein duality estimates W1 with a 1-Lipschitz critic; a
neural network is not one by construction. Three ways to constrain it:

* :func:`clip_weights`: clamp every parameter to [−c, c] after each update
  (Arjovsky, Chintala, Bottou, *Wasserstein GAN*, ICML 2017). The network is
  then K-Lipschitz for some K that depends on c and the architecture;
* :func:`gradient_penalty`: add λ E[(‖∇f(x̂)‖ − 1)²] at points x̂ between real and
  generated samples (Gulrajani et al., *Improved Training of Wasserstein GANs*,
  NeurIPS 2017);
* :func:`spectral_normalize`: divide each layer's weight by its largest singular
  value (Miyato et al., *Spectral Normalization for GANs*, ICLR 2018).

And two lower bounds on a function's Lipschitz constant L = sup ‖f(x) − f(y)‖ / ‖x − y‖:
:func:`max_gradient_norm` (for differentiable f, L = sup ‖∇f‖) and
:func:`estimate_lipschitz` (the largest difference quotient over pairs of points,
the K_eff of Tanaka, *Discriminator Optimal Transport*, NeurIPS 2019).

The training loop takes the constraint as an object: :class:`WeightClipping`,
:class:`GradientPenalty`, :class:`SpectralNormalization` or ``None``. Each says
what it adds to the critic's loss (:meth:`~LipschitzConstraint.penalty`) and what
it does after each critic update (:meth:`~LipschitzConstraint.after_step`).
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn
from torch.nn.utils import parametrizations

__all__ = ["GradientPenalty", "LipschitzConstraint", "SpectralNormalization", "WeightClipping",
           "clip_weights", "estimate_lipschitz", "gradient_penalty", "max_gradient_norm",
           "spectral_normalize"]


def _check_batch(x: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"{name} must be a batch of shape (n, ...) with at least 2 dimensions, "
                         f"got shape {tuple(x.shape)}")
    if len(x) == 0:
        raise ValueError(f"{name} is an empty batch")
    return x


@torch.no_grad()
def clip_weights(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` to [−c, c], in place (WGAN, Algorithm 1, line 7)."""
    if not isinstance(c, (int, float)) or isinstance(c, bool) or not math.isfinite(c) or c <= 0:
        raise ValueError(f"the clip value c must be a positive number, got {c!r}")
    for parameter in module.parameters():
        parameter.clamp_(-c, c)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, lam: float = 10.0,
                     one_sided: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    """λ · E[(‖∇f(x̂)‖₂ − 1)²] at x̂ = ε x + (1 − ε) x̃, ε ~ U[0, 1] per sample (WGAN-GP).

    ``real`` and ``fake`` are batches of the same shape; the gradient norm is taken
    per sample over all non-batch dimensions. ``one_sided`` penalises only norms
    above 1: λ · E[max(0, ‖∇f(x̂)‖ − 1)²]. The result is differentiable with respect
    to the critic's parameters (``create_graph=True``), so it can be added to the
    critic's loss. A tiny ε inside the square root keeps the double backward finite
    where the gradient vanishes.
    """
    _check_batch(real, "real")
    _check_batch(fake, "fake")
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches must have the same shape, got "
                         f"{tuple(real.shape)} and {tuple(fake.shape)}")
    if not isinstance(lam, (int, float)) or isinstance(lam, bool) or not math.isfinite(lam) or lam < 0:
        raise ValueError(f"the penalty weight λ must be a non-negative number, got {lam!r}")
    shape = (len(real),) + (1,) * (real.ndim - 1)
    eps = torch.rand(shape, device=real.device, dtype=real.dtype, generator=generator)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    grad, = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norms = torch.sqrt(grad.flatten(1).pow(2).sum(dim=1) + 1e-12)
    excess = torch.clamp(norms - 1, min=0) if one_sided else norms - 1
    return lam * excess.pow(2).mean()


def spectral_normalize(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Wrap every ``nn.Linear`` and ``nn.Conv*d`` of ``module`` in torch's spectral norm.

    Each weight W is replaced on the fly by W / σ(W), σ(W) its largest singular
    value estimated by power iteration (one step per training forward pass,
    warm-started from the previous one), so each layer is 1-Lipschitz and a network
    of such layers and 1-Lipschitz activations (ReLU) is at most 1-Lipschitz.
    Returns ``module``, changed in place.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)):
            if not parametrizations.parametrize.is_parametrized(layer, "weight"):
                parametrizations.spectral_norm(layer, n_power_iterations=n_power_iterations)
    return module


def max_gradient_norm(f: nn.Module, points: torch.Tensor, batch_size: int = 4096) -> float:
    """max over ``points`` of ‖∇f(x)‖₂ (per sample, all non-batch dimensions).

    For a differentiable f the Lipschitz constant is sup ‖∇f‖ over the whole
    space, so this is a lower bound that approaches it when the points cover the
    region where the gradient is largest.
    """
    _check_batch(points, "points")
    largest = 0.0
    for chunk in points.split(batch_size):
        x = chunk.detach().clone().requires_grad_(True)
        grad, = torch.autograd.grad(f(x).sum(), x)
        largest = max(largest, grad.flatten(1).norm(dim=1).max().item())
    return largest


@torch.no_grad()
def estimate_lipschitz(f: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None,
                       max_pairs: int = 1_000_000, generator: torch.Generator | None = None) -> float:
    """K_eff = max over pairs of |f(a) − f(b)| / ‖a − b‖₂ (Tanaka 2019, eq. 7).

    Pairs are (x_i, y_j) for all i, j when ``y`` is given, else the pairs of
    distinct points of ``x``. A lower bound on the Lipschitz constant of f; if
    there are more than ``max_pairs`` pairs, that many are drawn at random.
    Coincident points (‖a − b‖ = 0) are skipped.
    """
    _check_batch(x, "x")
    if y is None:
        y = x
    else:
        _check_batch(y, "y")
        if x.shape[1:] != y.shape[1:]:
            raise ValueError(f"x and y must have the same point shape, got {tuple(x.shape[1:])} "
                             f"and {tuple(y.shape[1:])}")
    fx, fy = f(x).reshape(len(x)), f(y).reshape(len(y))
    flat_x, flat_y = x.flatten(1), y.flatten(1)
    if len(x) * len(y) <= max_pairs:
        gaps = (fx[:, None] - fy[None, :]).abs()
        dist = torch.cdist(flat_x, flat_y, compute_mode="donot_use_mm_for_euclid_dist")
    else:
        i = torch.randint(len(x), (max_pairs,), device=x.device, generator=generator)
        j = torch.randint(len(y), (max_pairs,), device=x.device, generator=generator)
        gaps, dist = (fx[i] - fy[j]).abs(), (flat_x[i] - flat_y[j]).norm(dim=1)
    apart = dist > 1e-12
    if not apart.any():
        raise ValueError("all pairs of points coincide: the difference quotient is undefined")
    return (gaps[apart] / dist[apart]).max().item()


class LipschitzConstraint:
    """What the training loop asks of a Lipschitz constraint; this base class constrains nothing."""

    name = "none"

    def check(self, critic: nn.Module) -> None:
        """Raise ``ValueError`` if ``critic`` cannot be trained under this constraint."""

    def penalty(self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor | None:
        """A term added to the critic's loss, or ``None``."""
        return None

    def after_step(self, critic: nn.Module) -> None:
        """Applied to the critic after each of its optimiser steps."""

    def config(self) -> dict:
        """The constraint's name and settings (stored in checkpoints, compared on resume)."""
        settings = dataclasses.asdict(self) if dataclasses.is_dataclass(self) else {}
        return {"name": self.name, **settings}


def _positive(value, label: str, allow_zero: bool = False) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value < 0 or (value == 0 and not allow_zero)):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{label} must be a {kind} number, got {value!r}")


@dataclasses.dataclass(frozen=True)
class WeightClipping(LipschitzConstraint):
    """Clamp every critic parameter to [−c, c] after each update (WGAN; the paper's c = 0.01)."""

    c: float = 0.01
    name = "clipping"

    def __post_init__(self):
        _positive(self.c, "the clip value c")

    def after_step(self, critic: nn.Module) -> None:
        clip_weights(critic, self.c)


@dataclasses.dataclass(frozen=True)
class GradientPenalty(LipschitzConstraint):
    """Add λ E[(‖∇f(x̂)‖ − 1)²] to the critic's loss (WGAN-GP; the paper's λ = 10).

    See :func:`gradient_penalty`; a critic with batch norm is refused.
    """

    lam: float = 10.0
    one_sided: bool = False
    name = "penalty"

    def __post_init__(self):
        _positive(self.lam, "the penalty weight λ", allow_zero=True)

    def check(self, critic: nn.Module) -> None:
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules()):
            raise ValueError("the gradient penalty needs per-sample gradients, which batch norm in the critic "
                             "does not have: use layer norm or no normalisation")

    def penalty(self, critic, real, fake, generator=None):
        return gradient_penalty(critic, real, fake, self.lam, one_sided=self.one_sided, generator=generator)


@dataclasses.dataclass(frozen=True)
class SpectralNormalization(LipschitzConstraint):
    """The critic's layers divide their weights by σ(W) themselves: build it with :func:`spectral_normalize`."""

    name = "spectral"

    def check(self, critic: nn.Module) -> None:
        layers = [m for m in critic.modules()
                  if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d))]
        plain = [m for m in layers if not parametrizations.parametrize.is_parametrized(m, "weight")]
        if not layers or plain:
            raise ValueError(f"{len(plain)} of the critic's {len(layers)} weight layers are not spectrally "
                             "normalised: pass the critic through spectral_normalize (or critic_mlp(norm='spectral'))")
