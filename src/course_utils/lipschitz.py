"""Keeping a critic Lipschitz, and measuring how Lipschitz it is.

The Kantorovich–Rubinstein duality estimates W1 with a 1-Lipschitz critic; a
neural network is not one by construction. Three ways to constrain it:

* :func:`clip_weights`: clamp every parameter to [−c, c] after each update
  (Arjovsky, Chintala, Bottou, *Wasserstein GAN*, ICML 2017). The network is
  then K-Lipschitz for some K that depends on c and the architecture;
* :func:`gradient_penalty`: add λ E[(‖∇f(x̂)‖ − 1)²] at points x̂ between real and
  generated samples (Gulrajani et al., *Improved Training of Wasserstein GANs*,
  NeurIPS 2017);
* :func:`spectral_normalize`: divide each layer's weight by an estimate of its
  largest singular value (Miyato et al., *Spectral Normalization for GANs*, ICLR
  2018). What this guarantees, and what it does not, is in the function's
  docstring; :func:`operator_norm` measures a layer's true norm.

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

__all__ = ["GradientPenalty", "LipschitzConstraint", "MaxMin", "SpectralNormalization", "WeightClipping",
           "clip_weights", "estimate_lipschitz", "gradient_penalty", "largest_quotient",
           "max_gradient_norm", "operator_norm", "spectral_normalize", "uses_batch_norm"]

WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)


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


def uses_batch_norm(module: nn.Module) -> bool:
    """Whether ``module`` contains batch norm, which makes a sample's output depend on its batch."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, lam: float = 10.0,
                     one_sided: bool = False, rng: torch.Generator | None = None) -> torch.Tensor:
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
    eps = torch.rand(shape, device=real.device, dtype=real.dtype, generator=rng)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    grad, = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norms = torch.sqrt(grad.flatten(1).pow(2).sum(dim=1) + 1e-12)
    excess = torch.clamp(norms - 1, min=0) if one_sided else norms - 1
    return lam * excess.pow(2).mean()


def spectral_normalize(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Wrap every ``nn.Linear`` and ``nn.Conv*d`` of ``module`` in torch's spectral norm (Miyato et al. 2018).

    Each weight W is replaced on the fly by W / σ̂, where σ̂ = uᵀ W v is a power-iteration
    estimate of the largest singular value of W reshaped to a matrix (out, in · kernel),
    one step per training forward pass, warm-started from the previous one.

    What this does *not* guarantee: a 1-Lipschitz layer. Power iteration approaches σ
    from below (σ̂ ≤ σ), so the normalised matrix has norm σ / σ̂ ≥ 1; and for a
    convolution, the reshaped kernel's norm is not the convolution's operator norm,
    which can be larger by up to √(number of output positions that read one input
    pixel), a factor 2 for kernel 4 and stride 2 (Tsuzuku et al. 2018; Sedghi et al.
    2019). A linear layer is ≈ 1-Lipschitz once the power iteration has converged;
    a network's slope is at most the product of its layers' operator norms
    (:func:`operator_norm`) times those of its activations. Returns ``module``,
    changed in place.
    """
    for layer in module.modules():
        if isinstance(layer, WEIGHT_LAYERS):
            if not parametrizations.parametrize.is_parametrized(layer, "weight"):
                parametrizations.spectral_norm(layer, n_power_iterations=n_power_iterations)
    return module


class MaxMin(nn.Module):
    """(a, b) ↦ (max(a, b), min(a, b)) over the two halves of the channels (dimension 1).

    GroupSort with groups of 2 (Anil, Lucas & Grosse, *Sorting out Lipschitz function
    approximation*, ICML 2019). It only permutes its input, so wherever it is
    differentiable its Jacobian is a permutation matrix and it keeps the norm of the
    gradient that passes through it. ReLU and LeakyReLU shrink that norm (they zero or
    scale part of it), so a network of norm-1 layers (spectral normalisation) with
    them has a slope well below 1, which limits what its critic can represent; with
    MaxMin, the same layers can reach slope 1.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim < 2 or x.shape[1] % 2:
            raise ValueError(f"MaxMin needs an even number of channels in dimension 1, got shape {tuple(x.shape)}")
        a, b = x.chunk(2, dim=1)
        return torch.cat([torch.maximum(a, b), torch.minimum(a, b)], dim=1)


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


def operator_norm(layer: nn.Module, input_shape: tuple[int, ...], iterations: int = 200,
                  rng: torch.Generator | None = None) -> float:
    """‖A‖₂ = max ‖A x‖ / ‖x‖ of the linear part A x = layer(x) − layer(0), for inputs of ``input_shape``.

    Power iteration on AᵀA, with Aᵀ applied by autograd (the gradient of ⟨A x, y⟩ in
    x is Aᵀ y): x ← AᵀA x / ‖AᵀA x‖, then ‖A x‖. For a convolution this is the norm of
    the whole map on images of that size, padding and stride included, not the norm
    of its reshaped kernel. The layer is evaluated in eval mode (a spectrally
    normalised layer then uses, and does not update, its current estimate).
    """
    if not callable(layer):
        raise TypeError(f"layer must be a module or function, got {type(layer).__name__}")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations <= 0:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    parameter = next(layer.parameters(), None) if isinstance(layer, nn.Module) else None
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None else torch.get_default_dtype()
    training = layer.training if isinstance(layer, nn.Module) else False
    if isinstance(layer, nn.Module):
        layer.eval()
    try:
        zero = torch.zeros(1, *input_shape, device=device, dtype=dtype)
        with torch.no_grad():
            offset = layer(zero)
        linear = lambda x: layer(x) - offset
        x = torch.randn(1, *input_shape, device=device, dtype=dtype, generator=rng)
        for _ in range(iterations):
            x = x / x.norm()
            x.requires_grad_(True)
            ax = linear(x)
            x, = torch.autograd.grad(ax, x, grad_outputs=ax.detach())   # AᵀA x
            x = x.detach()
        x = x / x.norm()
        with torch.no_grad():
            return linear(x).norm().item()
    finally:
        if isinstance(layer, nn.Module):
            layer.train(training)


@torch.no_grad()
def estimate_lipschitz(f: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None,
                       max_pairs: int = 1_000_000, rng: torch.Generator | None = None) -> float:
    """K_eff = max over pairs of |f(a) − f(b)| / ‖a − b‖₂ (Tanaka 2019, eq. 7).

    Pairs are (x_i, y_j) for all i, j when ``y`` is given, else the pairs of
    distinct points of ``x``. A lower bound on the Lipschitz constant of f; if
    there are more than ``max_pairs`` pairs, that many are drawn at random.
    Coincident points (‖a − b‖ = 0) are skipped.
    """
    _check_batch(x, "x")
    fx = f(x).reshape(len(x))
    if y is None:
        y, fy = x, fx
    else:
        _check_batch(y, "y")
        if x.shape[1:] != y.shape[1:]:
            raise ValueError(f"x and y must have the same point shape, got {tuple(x.shape[1:])} "
                             f"and {tuple(y.shape[1:])}")
        fy = f(y).reshape(len(y))
    return largest_quotient(x, fx, y, fy, max_pairs, rng)


@torch.no_grad()
def largest_quotient(x: torch.Tensor, fx: torch.Tensor, y: torch.Tensor, fy: torch.Tensor,
                     max_pairs: int = 1_000_000, rng: torch.Generator | None = None) -> float:
    """max |fx_i − fy_j| / ‖x_i − y_j‖₂ over all pairs, or over ``max_pairs`` random ones, given the values.

    The computation behind :func:`estimate_lipschitz`, for callers that already
    have f's values (say, to draw several sets of pairs from one evaluation).
    """
    flat_x, flat_y = x.flatten(1), y.flatten(1)
    if len(x) * len(y) <= max_pairs:
        gaps = (fx[:, None] - fy[None, :]).abs()
        dist = torch.cdist(flat_x, flat_y, compute_mode="donot_use_mm_for_euclid_dist")
    else:
        i = torch.randint(len(x), (max_pairs,), device=x.device, generator=rng)
        j = torch.randint(len(y), (max_pairs,), device=x.device, generator=rng)
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
                rng: torch.Generator | None = None) -> torch.Tensor | None:
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
        if uses_batch_norm(critic):
            raise ValueError("the gradient penalty needs per-sample gradients, which batch norm in the critic "
                             "does not have: use layer norm or no normalisation")

    def penalty(self, critic, real, fake, rng=None):
        return gradient_penalty(critic, real, fake, self.lam, one_sided=self.one_sided, rng=rng)


@dataclasses.dataclass(frozen=True)
class SpectralNormalization(LipschitzConstraint):
    """The critic's layers divide their weights by σ(W) themselves: build it with :func:`spectral_normalize`."""

    name = "spectral"

    def check(self, critic: nn.Module) -> None:
        layers = [m for m in critic.modules() if isinstance(m, WEIGHT_LAYERS)]
        plain = [m for m in layers if not parametrizations.parametrize.is_parametrized(m, "weight")]
        if not layers or plain:
            raise ValueError(f"{len(plain)} of the critic's {len(layers)} weight layers are not spectrally "
                             "normalised: pass the critic through spectral_normalize (or critic_mlp(norm='spectral'))")
