"""DCGAN-style convolutional generator and critic for 28×28 images (MNIST).

The shapes follow Radford et al.'s DCGAN (ICLR 2016) scaled to 28×28, as in
Gulrajani et al.'s MNIST code: strided convolutions instead of pooling, a
transposed-convolution generator with batch norm and a ``tanh`` output in
[−1, 1], LeakyReLU(0.2) in the critic::

    generator  z ∈ R^latent_dim → Linear → 2w×7×7 → ConvT(4, stride 2) → w×14×14
               → ConvT(4, stride 2) → 1×28×28 → tanh
    critic     1×28×28 → Conv(4, stride 2) → w×14×14 → Conv(4, stride 2) → 2w×7×7
               → Linear → R       (no sigmoid: a critic is a real-valued function)

``norm`` chooses the critic's normalisation after its second convolution:

* ``None``: nothing (weight clipping, and the gradient penalty);
* ``"layer"``: layer norm over each sample's channels and pixels
  (``nn.GroupNorm(1, C)``), what Gulrajani et al. recommend with the penalty;
* ``"batch"``: ``nn.BatchNorm2d``, DCGAN's choice for its discriminator, and the
  classic mistake with a gradient penalty (it couples the samples of a batch);
* ``"spectral"``: every weight layer wrapped in torch's spectral norm
  (Miyato et al., ICLR 2018), and no other normalisation.
"""

from __future__ import annotations

import torch
from torch import nn

from .lipschitz import MaxMin, spectral_normalize
from .models import NORMS

__all__ = ["dcgan_critic", "dcgan_generator"]


def _check_size(value, label: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{label} must be a positive integer, got {value!r}")


class _Unflatten(nn.Module):
    """(n, c·h·w) → (n, c, h, w); also accepts a single code of shape (latent_dim,)."""

    def __init__(self, shape: tuple[int, int, int]):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(-1, *self.shape)


def dcgan_generator(latent_dim: int = 64, width: int = 32, batch_norm: bool = True) -> nn.Sequential:
    """z (n, latent_dim) ↦ images (n, 1, 28, 28) in [−1, 1]; ``width`` channels at 14×14."""
    _check_size(latent_dim, "latent_dim")
    _check_size(width, "width")
    norm2d = (lambda c: nn.BatchNorm2d(c)) if batch_norm else (lambda c: nn.Identity())
    norm1d = (lambda c: nn.BatchNorm1d(c)) if batch_norm else (lambda c: nn.Identity())
    return nn.Sequential(
        nn.Linear(latent_dim, 2 * width * 7 * 7), norm1d(2 * width * 7 * 7), nn.ReLU(),
        _Unflatten((2 * width, 7, 7)),
        nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), norm2d(width), nn.ReLU(),
        nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1), nn.Tanh(),
    )


def dcgan_critic(width: int = 32, norm: str | None = None, activation: str = "leaky_relu") -> nn.Sequential:
    """images (n, 1, 28, 28) ↦ scores (n, 1), no output activation; see the module for ``norm``.

    ``activation``: ``"leaky_relu"`` (slope 0.2, DCGAN's) or ``"maxmin"``
    (:class:`course_utils.lipschitz.MaxMin`, gradient-norm preserving).
    """
    _check_size(width, "width")
    if activation not in ("leaky_relu", "maxmin"):
        raise ValueError(f"unknown activation {activation!r}: choose 'leaky_relu' or 'maxmin'")
    act = (lambda: nn.LeakyReLU(0.2)) if activation == "leaky_relu" else MaxMin
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}: choose one of {NORMS}")
    middle = {None: nn.Identity(), "spectral": nn.Identity(), "layer": nn.GroupNorm(1, 2 * width),
              "batch": nn.BatchNorm2d(2 * width)}[norm]
    critic = nn.Sequential(
        nn.Conv2d(1, width, 4, stride=2, padding=1), act(),
        nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), middle, act(),
        nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1),
    )
    return spectral_normalize(critic) if norm == "spectral" else critic
