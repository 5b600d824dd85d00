"""GAN, WGAN, WGAN-GP and SN-WGAN on the 2-D toys, and what a run measures there.

The 2-D counterpart of :mod:`course_utils.image_gans`: each variant is a pair of
MLPs (:mod:`course_utils.models`) trained by the one loop,
:func:`course_utils.training.train_gan`, with its authors' loss, constraint and
optimiser (:func:`course_utils.training.paper_optimizers`); all four take five
critic steps per generator step, so that they differ only by loss and
constraint:

=========  ==============  =====================  ==========================
variant    loss            constraint             optimiser
=========  ==============  =====================  ==========================
gan        NON_SATURATING  none                   Adam 2e-4, β = (0.5, 0.999)
wgan       WASSERSTEIN     WeightClipping(0.01)   RMSProp 5e-5, warm-up
wgan-gp    WASSERSTEIN     GradientPenalty(λ)     Adam 1e-4, β = (0.5, 0.9)
sn-wgan    WASSERSTEIN     SpectralNormalization  Adam 1e-4, β = (0.5, 0.9)
=========  ==============  =====================  ==========================

Gulrajani et al.'s ``gan_toy.py`` uses λ = 0.1 on these toys ("smaller lambda
makes things faster for toy tasks"), 3 × 512 ReLU units and batch 256.

What a run measures (:func:`toy_evaluation`) is judged on held-out material
drawn once per dataset (:func:`toy_bench`): n real points and n latent codes,
so that successive snapshots differ only by the generator.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from .gan_losses import GANLoss, NON_SATURATING, WASSERSTEIN
from .lipschitz import (GradientPenalty, LipschitzConstraint,
                        SpectralNormalization, WeightClipping,
                        estimate_lipschitz)
from .models import critic_mlp, generator_mlp
from .optimal_transport import wasserstein
from .toy_data import TOY_DATASETS, mode_statistics, sample_toy
from .training import paper_optimizers

__all__ = ["EXTENT", "GRID_SIZE", "TOY_VARIANTS", "ToyGAN", "build_toy_variant",
           "toy_bench", "toy_evaluation"]

TOY_VARIANTS = ("gan", "wgan", "wgan-gp", "sn-wgan")
EXTENT, GRID_SIZE = 2.0, 60
"""The critic's surface is drawn on a GRID_SIZE² grid of [−EXTENT, EXTENT]²."""


@dataclasses.dataclass
class ToyGAN:
    """Everything ``train_gan`` needs for one 2-D variant, besides the data."""

    variant: str
    generator: nn.Module
    critic: nn.Module
    loss: GANLoss
    constraint: LipschitzConstraint | None
    generator_optimizer: torch.optim.Optimizer
    critic_optimizer: torch.optim.Optimizer


def build_toy_variant(variant: str, *, width: int, lr_scale: float = 1.0,
                      penalty_weight: float = 10.0,
                      device: str | torch.device = "cpu",
                      seed: int = 0) -> ToyGAN:
    """The MLPs (3 × ``width``), loss, constraint and optimisers of ``variant``.

    ``penalty_weight`` is WGAN-GP's λ; learning rates are the authors' times
    ``lr_scale``. The initial weights come from ``seed``.
    """
    if variant not in TOY_VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: choose one of {TOY_VARIANTS}")
    loss, constraint = {
        "gan": (NON_SATURATING, None),
        "wgan": (WASSERSTEIN, WeightClipping(0.01)),
        "wgan-gp": (WASSERSTEIN, GradientPenalty(penalty_weight)),
        "sn-wgan": (WASSERSTEIN, SpectralNormalization()),
    }[variant]
    norm = "spectral" if variant == "sn-wgan" else None
    torch.manual_seed(seed)
    generator = generator_mlp(latent_dim=2, width=width).to(device)
    activation = "maxmin" if variant == "sn-wgan" else "relu"   # see image_gans.build_variant
    critic = critic_mlp(width=width, norm=norm, activation=activation).to(device)
    g_opt, c_opt = paper_optimizers(loss, constraint, generator, critic,
                                    lr_scale=lr_scale)
    return ToyGAN(variant, generator, critic, loss, constraint, g_opt, c_opt)


def toy_bench(name: str, n: int, device: str | torch.device = "cpu",
              seed: int = 1) -> dict:
    """Data for one toy: 20,000 training points, and n held-out points and codes.

    ``floor`` is the exact W1 between the held-out points and a second real
    sample of n: the distance below which no generator can be expected to go.
    """
    if name not in TOY_DATASETS:
        raise ValueError(f"unknown toy dataset {name!r}: choose one of {TOY_DATASETS}")
    stream = torch.Generator(device=device).manual_seed(seed)
    bench = {"train": sample_toy(name, 20_000, stream, device),
             "real": sample_toy(name, n, stream, device),
             "z": torch.randn(n, 2, generator=stream, device=device)}
    second = sample_toy(name, n, stream, device)
    bench["floor"] = wasserstein(bench["real"].cpu().numpy(), second.cpu().numpy())
    return bench


def toy_evaluation(name: str, bench: dict, *, lipschitz: bool = False):
    """What ``train_gan`` records at each snapshot of a run on toy ``name``.

    The exact W1 between G(z) and the held-out points (POT), the critic's
    estimate E f(x) − E f(G(z)) on them, for the mixtures the modes covered and
    the share of high-quality samples (:func:`mode_statistics`), the samples
    and the critic on the grid; with ``lipschitz``, the critic's largest slope
    over all pairs of generated points (K_eff).
    """
    real, z = bench["real"], bench["z"]
    axis = torch.linspace(-EXTENT, EXTENT, GRID_SIZE, device=real.device)
    grid = torch.cartesian_prod(axis, axis)

    def evaluate(generator: nn.Module, critic: nn.Module) -> dict:
        fake = generator(z)
        values = {"exact W1": wasserstein(fake.cpu().numpy(), real.cpu().numpy()),
                  "estimate": critic(real).mean() - critic(fake).mean(),
                  "fake": fake,
                  "surface": critic(grid).reshape(GRID_SIZE, GRID_SIZE).T}
        if name != "swissroll":
            stats = mode_statistics(fake, name)
            values.update({"modes": stats["modes"],
                           "high quality": stats["high_quality"]})
        if lipschitz:
            values["K_eff"] = estimate_lipschitz(critic, fake)
        return values

    return evaluate
