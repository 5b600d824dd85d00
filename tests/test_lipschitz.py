import math

import pytest
import torch
from torch import nn

from course_utils.lipschitz import (
    MaxMin, clip_weights, estimate_lipschitz, gradient_penalty, max_gradient_norm, spectral_normalize,
)
from course_utils.models import critic_mlp


def linear_critic(weight):
    layer = nn.Linear(len(weight), 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([weight]))
        layer.bias.fill_(0.3)
    return layer


def test_penalty_is_zero_for_a_1_lipschitz_linear_critic_and_positive_otherwise():
    real, fake = torch.randn(64, 2), torch.randn(64, 2) + 2
    unit = linear_critic([0.6, 0.8])  # gradient norm exactly 1 everywhere
    assert gradient_penalty(unit, real, fake, lam=10).item() < 1e-10
    steep = linear_critic([1.2, 1.6])  # gradient norm 2: penalty λ (2 − 1)²
    assert math.isclose(gradient_penalty(steep, real, fake, lam=10).item(), 10.0, rel_tol=1e-5)
    flat = linear_critic([0.3, 0.4])  # gradient norm 0.5
    assert math.isclose(gradient_penalty(flat, real, fake, lam=10).item(), 2.5, rel_tol=1e-5)
    assert gradient_penalty(flat, real, fake, lam=10, one_sided=True).item() == 0.0
    assert gradient_penalty(steep, real, fake, lam=0).item() == 0.0


def test_penalty_uses_per_sample_norms_over_all_non_batch_dimensions():
    # f(x) = sum of x over a 3 × 4 image: ∇f = ones, per-sample norm √12
    critic = lambda x: x.flatten(1).sum(dim=1)
    real, fake = torch.randn(8, 3, 4), torch.randn(8, 3, 4)
    assert math.isclose(gradient_penalty(critic, real, fake, lam=1).item(), (math.sqrt(12) - 1) ** 2,
                        rel_tol=1e-5)


def test_penalty_interpolates_each_pair_with_its_own_uniform_coefficient():
    # f(x) = ½‖x‖² has ∇f(x̂) = x̂, so the penalty depends on where each x̂ lies: with
    # x̂ = ε x + (1 − ε) x̃, ε ~ U[0, 1] drawn per sample, its expectation is the mean over the
    # pairs of ∫₀¹ (‖ε x + (1 − ε) x̃‖ − 1)² dε, computed here by quadrature. One ε shared by the
    # whole batch, ε fixed, or x̂ = x or x̃ would each miss it on some of the draws.
    critic = lambda x: 0.5 * x.pow(2).sum(dim=1)
    stream = torch.Generator().manual_seed(0)
    real = torch.randn(20_000, 2, generator=stream, dtype=torch.float64)
    fake = torch.randn(20_000, 2, generator=stream, dtype=torch.float64) + 2
    eps = torch.linspace(0, 1, 2001, dtype=torch.float64)[:, None, None]
    terms = ((eps * real + (1 - eps) * fake).norm(dim=2) - 1) ** 2     # (ε grid, pairs)
    expected = torch.trapezoid(terms, dx=1 / 2000, dim=0).mean().item()
    standard_error = (terms.var() / len(real)).sqrt().item()           # of a mean over the pairs
    values = [gradient_penalty(critic, real, fake, lam=1, rng=torch.Generator().manual_seed(seed)).item()
              for seed in range(5)]
    assert all(abs(v - expected) < 4 * standard_error for v in values), (values, expected, standard_error)
    assert len(set(values)) == 5                               # and ε is random: each draw differs


def test_penalty_is_differentiable_and_finite_where_the_gradient_vanishes():
    critic = critic_mlp(width=8)
    with torch.no_grad():
        for p in critic.parameters():
            p.zero_()  # ∇f = 0 everywhere: the norm's derivative is undefined at 0 without ε
    loss = gradient_penalty(critic, torch.randn(16, 2), torch.randn(16, 2))
    loss.backward()
    grads = [p.grad for p in critic.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert math.isclose(loss.item(), 10.0, rel_tol=1e-5)


def test_penalty_bad_inputs():
    critic = linear_critic([1.0, 0.0])
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match="λ must be a non-negative number"):
        gradient_penalty(critic, x, x, lam=-1)
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(critic, x, torch.randn(5, 2))
    with pytest.raises(ValueError, match="empty batch"):
        gradient_penalty(critic, torch.empty(0, 2), torch.empty(0, 2))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        gradient_penalty(critic, torch.randn(4), torch.randn(4))


def test_clipping_bounds_every_weight():
    critic = critic_mlp(width=32)
    with torch.no_grad():
        for p in critic.parameters():
            p.normal_(0, 1)
    clip_weights(critic, 0.01)
    assert all(p.abs().max() <= 0.01 for p in critic.parameters())
    assert any((p.abs() == 0.01).any() for p in critic.parameters())  # it clamps, it does not rescale
    for bad in (-0.1, 0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive number"):
            clip_weights(critic, bad)


def test_estimators_on_a_linear_map_never_exceed_and_nearly_reach_its_norm():
    torch.manual_seed(0)
    f = linear_critic([3.0, -4.0])  # Lipschitz constant 5
    points = torch.randn(300, 2)
    k = estimate_lipschitz(f, points)
    assert k <= 5 * (1 + 1e-5) and k > 0.97 * 5
    assert math.isclose(max_gradient_norm(f, points), 5.0, rel_tol=1e-6)
    k_xy = estimate_lipschitz(f, points[:100], points[100:])
    assert 0.95 * 5 < k_xy <= 5 * (1 + 1e-5)
    k_sampled = estimate_lipschitz(f, points, max_pairs=5000, rng=torch.Generator().manual_seed(0))
    assert 0.9 * 5 < k_sampled <= 5 * (1 + 1e-5)


def test_estimators_bound_a_network_from_below():
    torch.manual_seed(0)
    critic = critic_mlp(width=16)
    bound = math.prod(torch.linalg.matrix_norm(m.weight, ord=2).item()
                      for m in critic if isinstance(m, nn.Linear))
    points = torch.randn(200, 2)
    assert estimate_lipschitz(critic, points) <= bound
    assert max_gradient_norm(critic, points) <= bound


def test_estimator_bad_inputs():
    f = linear_critic([1.0, 0.0])
    with pytest.raises(ValueError, match="all pairs of points coincide"):
        estimate_lipschitz(f, torch.ones(5, 2))
    with pytest.raises(ValueError, match="same point shape"):
        estimate_lipschitz(f, torch.randn(3, 2), torch.randn(3, 3))
    with pytest.raises(ValueError, match="empty batch"):
        max_gradient_norm(f, torch.empty(0, 2))


def test_spectral_normalisation_makes_each_layer_norm_one():
    torch.manual_seed(0)
    critic = spectral_normalize(critic_mlp(width=32))
    critic.train()
    for _ in range(30):  # each training forward pass runs one power-iteration step
        critic(torch.randn(8, 2))
    critic.eval()
    for layer in critic:
        if isinstance(layer, nn.Linear):
            assert abs(torch.linalg.matrix_norm(layer.weight, ord=2).item() - 1) < 1e-3
    assert max_gradient_norm(critic, torch.randn(500, 2) * 3) <= 1 + 1e-3
    spectral_normalize(critic)  # idempotent: no second parametrisation
    assert len(critic[0].parametrizations.weight) == 1


def test_maxmin_keeps_the_gradient_norm_and_relu_does_not():
    x = torch.randn(64, 8, 5, 5, requires_grad=True)
    upstream = torch.randn(64, 8, 5, 5)
    (MaxMin()(x) * upstream).sum().backward()
    assert torch.allclose(x.grad.flatten(1).norm(dim=1), upstream.flatten(1).norm(dim=1))
    y = x.detach().requires_grad_(True)
    (torch.relu(y) * upstream).sum().backward()
    assert (y.grad.flatten(1).norm(dim=1) < upstream.flatten(1).norm(dim=1)).all()
    # a permutation of its input: same values, sorted within each pair of channels
    out = MaxMin()(x.detach())
    assert torch.equal(out.sort(dim=1).values, x.detach().sort(dim=1).values)
    assert (out[:, :4] >= out[:, 4:]).all()


def test_maxmin_refuses_an_odd_number_of_channels():
    with pytest.raises(ValueError, match="even number of channels"):
        MaxMin()(torch.randn(3, 5))


def test_a_spectrally_normalised_maxmin_critic_can_be_steeper_than_its_relu_twin():
    # Same norm-1 layers, two activations: with MaxMin the slope along random
    # directions is larger, as the layers' norms allow (Anil et al. 2019).
    torch.manual_seed(0)
    relu = critic_mlp(width=64, norm="spectral")
    maxmin = critic_mlp(width=64, norm="spectral", activation="maxmin")
    maxmin.load_state_dict(relu.state_dict())
    points = torch.randn(512, 2)
    for critic in (relu, maxmin):      # converge the power iterations
        critic.train()
        for _ in range(50):
            critic(points)
        critic.eval()
    assert max_gradient_norm(maxmin, points) > max_gradient_norm(relu, points)
    assert max_gradient_norm(maxmin, points) <= 1.0 + 1e-3
