import math

import pytest
import torch

from course_utils.toy_data import TOY_DATASETS, mode_centers, mode_statistics, mode_std, sample_toy


def test_mixtures_match_gulrajani_settings():
    centers = mode_centers("8gaussians")
    assert centers.shape == (8, 2)
    assert torch.allclose(centers.norm(dim=1), torch.full((8,), 2 / 1.414))
    grid = mode_centers("25gaussians")
    assert grid.shape == (25, 2)
    assert torch.allclose(grid.abs().max(), torch.tensor(4 / 2.828))
    assert math.isclose(mode_std("8gaussians"), 0.02 / 1.414)
    assert math.isclose(mode_std("25gaussians"), 0.05 / 2.828)


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_mixture_samples_sit_on_their_modes(name):
    x = sample_toy(name, 20_000, torch.Generator().manual_seed(0))
    centers, std = mode_centers(name), mode_std(name)
    nearest = torch.cdist(x, centers).min(dim=1)
    # each coordinate's offset from its mode is N(0, std²): the squared distance is std² χ²₂
    assert abs((nearest.values**2).mean().item() / (2 * std**2) - 1) < 0.03
    counts = torch.bincount(nearest.indices, minlength=len(centers)).float()
    assert counts.min() > 0.8 * counts.mean()  # every mode is used, about equally


def test_swiss_roll_is_the_scaled_spiral():
    x = sample_toy("swissroll", 50_000, torch.Generator().manual_seed(0))
    radius = x.norm(dim=1) * 7.5  # |t (cos t, sin t)| = t for the noiseless roll, t ∈ [1.5π, 4.5π]
    assert 1.5 * math.pi - 1.5 < radius.min() and radius.max() < 4.5 * math.pi + 1.5
    assert abs(radius.mean().item() - 3 * math.pi) < 0.1


def test_samples_are_reproducible_and_on_the_device():
    for name in TOY_DATASETS:
        a = sample_toy(name, 100, torch.Generator().manual_seed(3))
        b = sample_toy(name, 100, torch.Generator().manual_seed(3))
        assert a.shape == (100, 2) and a.dtype == torch.float32 and torch.equal(a, b)


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown toy dataset 'moons'"):
        sample_toy("moons", 10)
    with pytest.raises(ValueError, match="positive integer"):
        sample_toy("8gaussians", 0)
    with pytest.raises(ValueError, match="not a mixture"):
        mode_centers("swissroll")
    assert sample_toy("8 Gaussians", 5).shape == (5, 2)  # spelling variants are accepted


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_mode_statistics_of_real_data_collapsed_and_scattered_samples(name):
    generator = torch.Generator().manual_seed(3)
    real = sample_toy(name, 20_000, generator)
    stats = mode_statistics(real, name)
    k = len(mode_centers(name))
    assert stats["modes"] == stats["of"] == k
    assert stats["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.005)   # 2-D mass within 3σ
    collapsed = mode_centers(name)[3] + mode_std(name) * torch.randn(1000, 2, generator=generator)
    stats = mode_statistics(collapsed, name)
    assert stats["modes"] == 1 and stats["high_quality"] > 0.95
    blurred = real + 10 * mode_std(name) * torch.randn_like(real)      # right places, too wide
    stats = mode_statistics(blurred, name)
    assert stats["high_quality"] < 0.2


def test_mode_statistics_rejects_bad_input():
    with pytest.raises(ValueError, match="not a mixture"):
        mode_statistics(torch.zeros(5, 2), "swissroll")
    with pytest.raises(ValueError, match="shape"):
        mode_statistics(torch.zeros(5, 3), "8gaussians")
    with pytest.raises(ValueError, match="NaN"):
        mode_statistics(torch.full((5, 2), float("nan")), "8gaussians")


def test_high_quality_share_of_real_and_shifted_swiss_rolls():
    from course_utils.toy_data import high_quality_share
    real = sample_toy("swissroll", 4000, torch.Generator().manual_seed(0))
    assert high_quality_share(real, "swissroll") > 0.98          # at least the 98.9 % of a 2-D Gaussian's 3σ disc
    assert high_quality_share(real * 1.3, "swissroll") < 0.5     # a stretched roll leaves its curve
    assert high_quality_share(real, "25gaussians") == mode_statistics(real, "25gaussians")["high_quality"]
    with pytest.raises(ValueError, match="NaN"):
        high_quality_share(torch.full((3, 2), float("nan")), "swissroll")
