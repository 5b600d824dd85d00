"""The 2-D toy distributions of Gulrajani et al. (2017), generated in code.

Settings follow their ``gan_toy.py``:

* **8 Gaussians**: centres on the circle of radius 2 at the angles kπ/4, standard
  deviation 0.02, the whole set then divided by 1.414;
* **25 Gaussians**: centres on the grid {−4, −2, 0, 2, 4}², standard deviation 0.05,
  divided by 2.828;
* **Swiss roll**: scikit-learn's ``make_swiss_roll(noise=0.25)`` projected on its
  first and third coordinates and divided by 7.5, i.e. t (cos t, sin t) + 0.25 ε with
  t = 1.5π (1 + 2u), u ~ U[0, 1], ε ~ N(0, I₂).

Samples are torch tensors of shape (n, 2), drawn on the requested device from a
``torch.Generator`` so that a chapter's data are reproducible.

Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville, *Improved Training of Wasserstein
GANs*, NeurIPS 2017.
"""

from __future__ import annotations

import math

import torch

__all__ = ["TOY_DATASETS", "high_quality_share", "mode_centers", "mode_statistics", "mode_std", "sample_toy"]

TOY_DATASETS = ("8gaussians", "25gaussians", "swissroll")

_SCALE = {"8gaussians": 1.414, "25gaussians": 2.828}
_STD = {"8gaussians": 0.02, "25gaussians": 0.05}
_ROLL_SCALE, _ROLL_NOISE = 7.5, 0.25


def _check_name(name: str) -> str:
    key = str(name).strip().lower().replace(" ", "").replace("_", "").replace("-", "")
    if key not in TOY_DATASETS:
        raise ValueError(f"unknown toy dataset {name!r}: choose one of {', '.join(TOY_DATASETS)}")
    return key


def mode_centers(name: str) -> torch.Tensor:
    """Centres of the mixture's components, in the data's (scaled) coordinates, shape (k, 2)."""
    key = _check_name(name)
    if key == "8gaussians":
        angles = torch.arange(8, dtype=torch.float64) * math.pi / 4
        centers = 2.0 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    elif key == "25gaussians":
        grid = torch.arange(-2, 3, dtype=torch.float64) * 2.0
        centers = torch.cartesian_prod(grid, grid)
    else:
        raise ValueError("the Swiss roll is not a mixture: it has no mode centres")
    return (centers / _SCALE[key]).float()


def mode_std(name: str) -> float:
    """Standard deviation of each mixture component, in the data's (scaled) coordinates."""
    key = _check_name(name)
    if key not in _STD:
        raise ValueError("the Swiss roll is not a mixture: it has no mode width")
    return _STD[key] / _SCALE[key]


def sample_toy(name: str, n: int, generator: torch.Generator | None = None,
               device: torch.device | str | None = None) -> torch.Tensor:
    """Draw ``n`` points of the toy distribution ``name`` (see the module's docstring)."""
    key = _check_name(name)
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    device = torch.device("cpu" if device is None else device)
    if generator is not None and generator.device != device:
        raise ValueError(f"the generator lives on {generator.device}, the samples on {device}")
    noise = torch.randn(n, 2, generator=generator, device=device)
    if key == "swissroll":
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator, device=device))
        roll = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1)
        return (roll + _ROLL_NOISE * noise) / _ROLL_SCALE
    centers = mode_centers(key).to(device)
    pick = torch.randint(len(centers), (n,), generator=generator, device=device)
    return centers[pick] + mode_std(key) * noise


@torch.no_grad()
def mode_statistics(samples: torch.Tensor, name: str, radius: float = 3.0, min_share: float = 0.1) -> dict:
    """How many modes of a mixture the samples cover, and how many samples are good.

    A sample is *high quality* when it lies within ``radius`` standard deviations of
    its nearest mode centre; a mode is *covered* when at least ``min_share`` of its fair
    share n/k of the samples are high-quality samples at that mode. The usual
    mode-collapse measures of the unrolled-GAN and VEEGAN papers (Metz et al., 2017;
    Srivastava et al., 2017). Real data score ``1 − exp(−radius²/2)`` (98.9 % for
    radius 3, the mass of a 2-D Gaussian within 3σ) and cover every mode.

    Returns ``{"modes": covered modes, "of": k, "high_quality": share of high-quality samples}``.
    """
    centers = mode_centers(name).to(samples.device)
    if samples.ndim != 2 or samples.shape[1] != 2 or len(samples) == 0:
        raise ValueError(f"samples must have shape (n, 2) with n > 0, got {tuple(samples.shape)}")
    if not torch.isfinite(samples).all():
        raise ValueError("samples contain NaN or infinite values")
    if not (radius > 0 and 0 < min_share <= 1):
        raise ValueError(f"radius must be positive and min_share in (0, 1], got {radius!r} and {min_share!r}")
    distance, nearest = torch.cdist(samples.float(), centers).min(dim=1)
    good = distance <= radius * mode_std(name)
    counts = torch.bincount(nearest[good], minlength=len(centers))
    covered = int((counts >= min_share * len(samples) / len(centers)).sum())
    return {"modes": covered, "of": len(centers), "high_quality": good.float().mean().item()}


@torch.no_grad()
def high_quality_share(samples: torch.Tensor, name: str, radius: float = 3.0) -> float:
    """Share of samples within ``radius`` noise standard deviations of the noise-free data.

    For a mixture, the distance to the nearest mode centre (as in
    :func:`mode_statistics`); for the Swiss roll, the distance to its noise-free curve
    t (cos t, sin t) / 7.5, t ∈ [1.5π, 4.5π], with σ = 0.25 / 7.5 (the curve is
    sampled at 20,000 points, 0.005 apart at most: far below σ = 0.033).
    """
    key = _check_name(name)
    if key != "swissroll":
        return mode_statistics(samples, key, radius=radius)["high_quality"]
    if samples.ndim != 2 or samples.shape[1] != 2 or len(samples) == 0:
        raise ValueError(f"samples must have shape (n, 2) with n > 0, got {tuple(samples.shape)}")
    if not torch.isfinite(samples).all():
        raise ValueError("samples contain NaN or infinite values")
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius!r}")
    t = torch.linspace(1.5 * math.pi, 4.5 * math.pi, 20_000, device=samples.device)
    curve = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / _ROLL_SCALE
    distance = torch.cat([torch.cdist(chunk.float(), curve).min(dim=1).values for chunk in samples.split(1024)])
    return (distance <= radius * _ROLL_NOISE / _ROLL_SCALE).float().mean().item()
