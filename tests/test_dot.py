"""Discriminator Optimal Transport: the objective goes down, nothing moves without a critic, bad input is refused."""

import math

import pytest
import torch
from torch import nn

from course_utils.dot import (dot_objective, latent_lipschitz, latent_space_dot, project_to_sphere_tangent,
                              sampled_k_eff, target_space_dot)
from course_utils.lipschitz import estimate_lipschitz


def linear_critic(weight):
    critic = nn.Linear(len(weight), 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([weight]))
    return critic


class Zero(nn.Module):
    def forward(self, x):
        return x.flatten(1).sum(dim=1) * 0.0


def bump_critic(slope=1.0):
    """D(x) = −slope · ‖x − c‖ (slope-Lipschitz, highest at c): the data sit at c = (1, 2)."""
    center = torch.tensor([1.0, 2.0])

    class Bump(nn.Module):
        def forward(self, x):
            return -slope * (x - center).norm(dim=1, keepdim=True)
    return Bump()


def test_k_eff_of_a_linear_critic_is_its_norm():
    torch.manual_seed(0)
    critic = linear_critic([3.0, -4.0])
    k = estimate_lipschitz(critic, torch.randn(200, 2))
    assert k == pytest.approx(5.0, rel=2e-2)     # a random pair is almost never exactly along w
    assert k <= 5.0 + 1e-5


def test_each_step_lowers_the_objective_of_every_sample():
    # With K_eff below the critic's slope the minimiser is c itself, approached step by step. (At K_eff equal
    # to the slope the objective is flat along the whole segment [y, c], see the next test.)
    torch.manual_seed(0)
    critic, y = bump_critic(slope=2.0), torch.tensor([1.0, 2.0]) + 3 * nn.functional.normalize(torch.randn(64, 2))
    values = []
    for steps in range(6):
        x = target_space_dot(critic, y, k_eff=1.0, steps=steps, lr=0.05, optimizer="sgd")
        values.append(dot_objective(x, y, critic(x), 1.0))
    for before, after in zip(values, values[1:]):
        assert (after <= before + 1e-6).all()
    assert (values[-1] < values[0] - 0.1).all()


def test_dot_moves_towards_the_critic_s_maximum_and_stops_on_the_segment():
    torch.manual_seed(1)
    critic, y = bump_critic(), torch.randn(32, 2) * 3
    x = target_space_dot(critic, y, k_eff=1.0, steps=300, lr=0.02)
    center = torch.tensor([1.0, 2.0])
    # D(x) − D(y) = ‖x − y‖ on the segment [y, c]: every point of it is a minimiser (Theorem 1 is an argmin set)
    on_segment = (x - y).norm(dim=1) + (center - x).norm(dim=1) - (center - y).norm(dim=1)
    assert on_segment.abs().max() < 0.05
    assert ((center - x).norm(dim=1) < (center - y).norm(dim=1)).all()


def test_with_a_zero_critic_nothing_moves():
    y = torch.randn(50, 3)
    for optimizer in ("sgd", "adam"):
        x = target_space_dot(Zero(), y, k_eff=1.0, steps=20, lr=0.01, optimizer=optimizer, delta=0.0)
        assert torch.equal(x, y)
    generator = nn.Linear(4, 3)
    z = torch.randn(50, 4)
    assert torch.equal(latent_space_dot(generator, Zero(), z, k_eff=1.0, steps=20, delta=0.0), z)


def test_chunks_give_the_same_result_as_one_batch():
    torch.manual_seed(0)
    critic, y = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)), torch.randn(100, 2)
    whole = target_space_dot(critic, y, k_eff=2.0, steps=15, batch_size=100)
    chunked = target_space_dot(critic, y, k_eff=2.0, steps=15, batch_size=7)
    torch.testing.assert_close(whole, chunked)


def test_a_run_continued_from_its_result_with_the_original_anchor_equals_one_longer_run():
    torch.manual_seed(0)
    generator = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 2))
    critic = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    z = torch.randn(40, 8)
    whole = latent_space_dot(generator, critic, z, k_eff=0.5, steps=12, lr=0.05)
    half = latent_space_dot(generator, critic, z, k_eff=0.5, steps=5, lr=0.05)
    continued = latent_space_dot(generator, critic, half, k_eff=0.5, steps=7, lr=0.05, anchor=z)
    torch.testing.assert_close(continued, whole)
    # without the anchor the second run measures distances from where the first one stopped: another objective
    restarted = latent_space_dot(generator, critic, half, k_eff=0.5, steps=7, lr=0.05)
    assert not torch.allclose(restarted, whole, atol=1e-4)
    y = torch.randn(30, 2)
    whole = target_space_dot(critic, y, k_eff=0.5, steps=12, optimizer="sgd", lr=0.05)
    half = target_space_dot(critic, y, k_eff=0.5, steps=5, optimizer="sgd", lr=0.05)
    torch.testing.assert_close(target_space_dot(critic, half, k_eff=0.5, steps=7, optimizer="sgd", lr=0.05, anchor=y),
                               whole)


def test_the_critic_is_left_as_it_was():
    critic = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)).train()
    before = [p.detach().clone() for p in critic.parameters()]
    target_space_dot(critic, torch.randn(10, 2), k_eff=1.0, steps=5)
    assert critic.training and all(p.requires_grad for p in critic.parameters())
    assert all(torch.equal(a, b) and b.grad is None for a, b in zip(before, critic.parameters()))


def test_the_tangent_projection_keeps_the_norm_of_z_nearly_constant():
    torch.manual_seed(0)
    d = 64
    generator = nn.Sequential(nn.Linear(d, 32), nn.Tanh(), nn.Linear(32, 2))
    critic = linear_critic([1.0, 0.5])
    z = torch.randn(200, d)
    moved = latent_space_dot(generator, critic, z, k_eff=0.05, steps=20, lr=0.05)
    change = (moved.norm(dim=1) / z.norm(dim=1) - 1).abs().max().item()
    distance = ((moved - z).norm(dim=1) / z.norm(dim=1)).mean().item()
    assert distance > 0.05                    # the codes did move…
    assert change < 0.1 * distance            # …along the sphere, not off it
    g, w = torch.randn(5, d), torch.randn(5, d)
    assert (project_to_sphere_tangent(g, w) * w).sum(dim=1).abs().max() < 1e-4


def test_the_uniform_prior_keeps_codes_in_the_box():
    generator, critic = nn.Linear(3, 2), linear_critic([10.0, 10.0])
    z = torch.rand(40, 3) * 2 - 1
    moved = latent_space_dot(generator, critic, z, k_eff=0.1, prior="uniform", steps=30, lr=0.5)
    assert moved.abs().max() <= 1.0 and not torch.equal(moved, z)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        latent_space_dot(generator, critic, z * 3, k_eff=1.0, prior="uniform")


def test_latent_lipschitz_of_a_linear_composition():
    torch.manual_seed(0)
    generator = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        generator.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
    critic = linear_critic([0.0, 1.0])                 # D(G(z)) = 2 z_2: k = 2
    k = latent_lipschitz(generator, critic, torch.randn(300, 3))
    assert 1.8 < k <= 2.0 + 1e-5


@pytest.mark.parametrize("kwargs, message", [
    (dict(k_eff=0.0), "K_eff must be a positive"),
    (dict(k_eff=-1.0), "K_eff must be a positive"),
    (dict(k_eff=math.nan), "K_eff must be a positive"),
    (dict(k_eff=1.0, steps=-1), "steps must be a non-negative integer"),
    (dict(k_eff=1.0, steps=2.5), "steps must be a non-negative integer"),
    (dict(k_eff=1.0, lr=0.0), "learning rate"),
    (dict(k_eff=1.0, optimizer="lbfgs"), "unknown optimizer"),
    (dict(k_eff=1.0, batch_size=0), "batch_size"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        target_space_dot(linear_critic([1.0, 0.0]), torch.randn(4, 2), **kwargs)


def test_bad_shapes_are_refused():
    critic = linear_critic([1.0, 0.0])
    with pytest.raises(ValueError, match="shape"):
        target_space_dot(critic, torch.randn(2), k_eff=1.0)
    with pytest.raises(ValueError, match="NaN"):
        target_space_dot(critic, torch.tensor([[0.0, math.nan]]), k_eff=1.0)
    with pytest.raises(ValueError, match="one score per sample"):
        target_space_dot(nn.Linear(2, 2), torch.randn(4, 2), k_eff=1.0)
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        latent_space_dot(nn.Identity(), critic, torch.randn(4, 2, 1), k_eff=1.0)
    with pytest.raises(ValueError, match="unknown prior"):
        latent_space_dot(nn.Identity(), critic, torch.randn(4, 2), k_eff=1.0, prior="laplace")
    with pytest.raises(TypeError, match="floating-point"):
        target_space_dot(critic, torch.ones(4, 2, dtype=torch.long), k_eff=1.0)
    with pytest.raises(ValueError, match="anchor must match"):
        target_space_dot(critic, torch.randn(4, 2), k_eff=1.0, anchor=torch.randn(3, 2))
    with pytest.raises(ValueError, match="anchor must match"):
        latent_space_dot(nn.Identity(), critic, torch.randn(4, 2), k_eff=1.0, anchor=torch.randn(4, 2).double())


def test_the_authors_k_eff_is_a_smaller_lower_bound_than_all_pairs():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 1))
    x = torch.randn(300, 2)
    sampled = sampled_k_eff(critic, x, pairs=100, repeats=10, rng=torch.Generator().manual_seed(0))
    assert 0 < sampled <= estimate_lipschitz(critic, x) + 1e-6
    assert sampled_k_eff(linear_critic([3.0, -4.0]), x) <= 5.0 + 1e-5
    with pytest.raises(ValueError, match="pairs"):
        sampled_k_eff(critic, x[:3], pairs=9)
    with pytest.raises(ValueError, match="repeats"):
        sampled_k_eff(critic, x, repeats=0)
