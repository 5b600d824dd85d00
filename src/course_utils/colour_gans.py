"""DCGAN, WGAN, WGAN-GP and SN-WGAN on colour 28×28 images: the MNIST networks widened to 3 channels.

The networks are those of :mod:`course_utils.conv_models`, with the generator's last
layer producing three channels and the critic's first layer reading three::

    generator  z → Linear → 2w×7×7 → ConvT → w×14×14 → ConvT → 3×28×28 → tanh
    critic     3×28×28 → Conv → w_D×14×14 → Conv → 2w_D×7×7 → Linear → R

The generator's width ``w`` and the critic's ``w_D`` are set apart, because the
critic's capacity is what decides mode dropping on Stacked MNIST (Metz et al. 2017
shrink the discriminator to a quarter and a half of the generator). Each variant
has the loss, constraint, optimiser and ``n_critic`` of its authors, as in
:mod:`course_utils.image_gans` (the table there), and trains with the one loop,
:func:`course_utils.training.train_gan`.
"""

from __future__ import annotations

import torch
from torch import nn

from .conv_models import dcgan_critic, dcgan_generator
from .gan_losses import NON_SATURATING, WASSERSTEIN
from .image_gans import ALGORITHMS, ImageGAN
from .lipschitz import GradientPenalty, SpectralNormalization, WeightClipping, spectral_normalize
from .training import paper_optimizers

__all__ = ["ALGORITHMS", "build_colour_variant", "colour_critic", "colour_generator"]

CHANNELS = 3


def colour_generator(latent_dim: int = 64, width: int = 32) -> nn.Sequential:
    """z (n, latent_dim) ↦ images (n, 3, 28, 28) in [−1, 1]: :func:`~course_utils.conv_models.dcgan_generator`
    with a 3-channel last layer."""
    generator = dcgan_generator(latent_dim, width)
    generator[-2] = nn.ConvTranspose2d(width, CHANNELS, 4, stride=2, padding=1)
    return generator


def colour_critic(width: int = 32, norm: str | None = None, activation: str = "leaky_relu") -> nn.Sequential:
    """images (n, 3, 28, 28) ↦ scores (n, 1): :func:`~course_utils.conv_models.dcgan_critic` reading 3 channels.

    ``norm`` and ``activation`` as there; ``"spectral"`` normalises every weight layer,
    the 3-channel one included.
    """
    critic = dcgan_critic(width, None if norm == "spectral" else norm, activation)
    critic[0] = nn.Conv2d(CHANNELS, width, 4, stride=2, padding=1)
    return spectral_normalize(critic) if norm == "spectral" else critic


def build_colour_variant(algo: str, *, width: int = 32, critic_width: int = 32, latent_dim: int = 64,
                         lr_scale: float = 1.0, device: str | torch.device = "cpu", seed: int = 0) -> ImageGAN:
    """The 3-channel models, loss, constraint and optimisers of ``algo`` (an
    :class:`~course_utils.image_gans.ImageGAN`); initial weights from ``seed``.

    ``width`` is the generator's, ``critic_width`` the critic's; ``lr_scale``
    multiplies the authors' learning rates.
    """
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}: choose one of {ALGORITHMS}")
    torch.manual_seed(seed)
    generator = colour_generator(latent_dim, width).to(device, memory_format=torch.channels_last)
    norm = {"dcgan": "batch", "wgan": None, "wgan-gp": None, "sn-wgan": "spectral"}[algo]
    activation = "maxmin" if algo == "sn-wgan" else "leaky_relu"
    critic = colour_critic(critic_width, norm, activation).to(device, memory_format=torch.channels_last)
    loss, constraint, n_critic = {
        "dcgan": (NON_SATURATING, None, 1), "wgan": (WASSERSTEIN, WeightClipping(0.01), 5),
        "wgan-gp": (WASSERSTEIN, GradientPenalty(10.0), 5), "sn-wgan": (WASSERSTEIN, SpectralNormalization(), 5),
    }[algo]
    generator_optimizer, critic_optimizer = paper_optimizers(loss, constraint, generator, critic, lr_scale=lr_scale)
    return ImageGAN(algo, generator, critic, loss, constraint, n_critic, generator_optimizer, critic_optimizer,
                     latent_dim)
