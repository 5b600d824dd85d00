import math

import pytest
import torch

from course_utils.critic_fit import critic_estimate, fit_critic
from course_utils.lipschitz import GradientPenalty, WeightClipping, estimate_lipschitz
from course_utils.models import critic_mlp
from course_utils.optimal_transport import wasserstein


def shifted_gaussians(n=400, shift=2.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g) + torch.tensor([shift, 0.0])


def test_penalised_critic_estimates_w1_of_the_samples():
    torch.manual_seed(0)
    real, fake = shifted_gaussians()
    exact = wasserstein(real.numpy(), fake.numpy())
    critic = critic_mlp(width=64)
    history = fit_critic(critic, real, fake, steps=400, constraint=GradientPenalty(10.0), progress=False,
                         optimizer=torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9)))
    estimate = critic_estimate(critic, real, fake)
    assert len(history["estimate"]) == 400 and history["estimate"][0] < 0.5 * exact
    # the penalty is soft: the critic is only nearly 1-Lipschitz, so its estimate is near W1
    assert 0.85 * exact < estimate < 1.15 * exact
    # and never above K·W1, K its steepest slope between a real and a fake sample:
    # Σ πᵢⱼ (f(xᵢ) − f(yⱼ)) ≤ K Σ πᵢⱼ ‖xᵢ − yⱼ‖ for the optimal plan π
    assert estimate <= estimate_lipschitz(critic, real, fake) * exact * (1 + 1e-5)


def test_clipping_holds_after_every_step_and_keeps_the_estimate_small():
    torch.manual_seed(0)
    real, fake = shifted_gaussians()
    critic = critic_mlp(width=32)
    fit_critic(critic, real, fake, steps=50, constraint=WeightClipping(0.01), progress=False,
               optimizer=torch.optim.Adam(critic.parameters(), lr=1e-2))
    assert all(p.abs().max() <= 0.01 for p in critic.parameters())
    assert 0 < critic_estimate(critic, real, fake) < 0.05 * wasserstein(real.numpy(), fake.numpy())


def test_tracking_records_a_function_of_the_critic_on_schedule():
    real, fake = shifted_gaussians(n=50)
    critic = critic_mlp(width=8)
    history = fit_critic(critic, real, fake, steps=10, track_every=4, progress=False,
                         track=lambda f: critic_estimate(f, real, fake))
    assert history["tracked_step"] == [4, 8, 10]
    assert history["tracked"][-1] == critic_estimate(critic, real, fake)
    with pytest.raises(ValueError, match="track_every"):
        fit_critic(critic, real, fake, steps=1, track_every=0)


def test_sampling_functions_are_accepted():
    g = torch.Generator().manual_seed(0)
    history = fit_critic(critic_mlp(width=8), lambda n: torch.randn(n, 2, generator=g),
                         lambda n: torch.randn(n, 2, generator=g) + 1, steps=3, progress=False)
    assert len(history["estimate"]) == 3 and history["penalty"] == [0.0, 0.0, 0.0]


def test_nan_stops_training_with_the_step():
    real, fake = shifted_gaussians(n=10)
    real[3] = float("nan")
    with pytest.raises(FloatingPointError, match="iteration 1: the estimate is nan"):
        fit_critic(critic_mlp(width=8), real, fake, steps=5, batch_size=64, progress=False)


def test_bad_inputs():
    real, fake = shifted_gaussians(n=10)
    critic = critic_mlp(width=8)
    with pytest.raises(TypeError, match="constraint must be"):
        fit_critic(critic, real, fake, steps=1, constraint=0.01)
    with pytest.raises(ValueError, match="batch norm"):
        fit_critic(critic_mlp(width=8, norm="batch"), real, fake, steps=1, constraint=GradientPenalty())
    with pytest.raises(ValueError, match="steps must be"):
        fit_critic(critic, real, fake, steps=-1)
    with pytest.raises(ValueError, match="non-empty batch"):
        fit_critic(critic, torch.empty(0, 2), fake, steps=1)
    with pytest.raises(ValueError, match="differ in shape"):
        fit_critic(critic, real, torch.randn(10, 3), steps=1, progress=False)
    assert math.isfinite(critic_estimate(critic, real, fake))
