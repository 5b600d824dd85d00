"""Entropic OT: the Sinkhorn plan and values, their bounds, the debiased divergence, gradients, guards."""

import math
import warnings

import ot
import pytest
import torch

from course_utils.entropic_ot import (check_epsilon, entropic_wasserstein, ground_cost, sinkhorn,
                                      sinkhorn_divergence)


def clouds(n=30, m=None, seed=0, shift=1.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, dtype=dtype, generator=g)
    y = torch.randn(n if m is None else m, 2, dtype=dtype, generator=g) + shift
    return x, y


def kl(plan, a, b):
    return (plan * torch.log(plan / (a[:, None] * b[None, :]))).sum()


def test_plan_has_the_marginals_and_the_gibbs_form_and_value_is_cost_plus_eps_kl():
    x, y = clouds(7, 9, seed=1)
    cost = ground_cost(x, y, "sqeuclidean")
    g = torch.Generator().manual_seed(2)
    a = torch.rand(7, dtype=torch.float64, generator=g) + 0.1
    b = torch.rand(9, dtype=torch.float64, generator=g) + 0.1
    a, b = a / a.sum(), b / b.sum()
    epsilon = 0.3
    value, linear, plan = sinkhorn(cost, a, b, epsilon=epsilon)
    assert plan.shape == (7, 9) and (plan > 0).all()
    torch.testing.assert_close(plan.sum(1), a, rtol=0, atol=1e-8)
    torch.testing.assert_close(plan.sum(0), b, rtol=0, atol=1e-8)
    assert math.isclose(linear.item(), (plan * cost).sum().item(), rel_tol=1e-12)
    by_hand = (plan * cost).sum() + epsilon * kl(plan, a, b)
    assert math.isclose(value.item(), by_hand.item(), rel_tol=1e-10)
    # Optimality, not just feasibility: P = exp((f ⊕ g − C)/ε), so log P + C/ε is a sum
    # αᵢ + βⱼ (a plan for another ε, or an unconverged one, would not be).
    m = torch.log(plan) + cost / epsilon
    residual = m - m[:, :1] - m[:1, :] + m[0, 0]
    assert residual.abs().max() < 1e-6


def test_uniform_weights_are_the_default():
    x, y = clouds(6, 8, seed=3)
    cost = ground_cost(x, y)
    default = sinkhorn(cost, epsilon=0.2)
    explicit = sinkhorn(cost, torch.full((6,), 1 / 6, dtype=torch.float64),
                        torch.full((8,), 1 / 8, dtype=torch.float64), epsilon=0.2)
    torch.testing.assert_close(default.plan, explicit.plan)
    torch.testing.assert_close(default.plan.sum(1), torch.full((6,), 1 / 6, dtype=torch.float64))


@pytest.mark.parametrize("epsilon", [1.0, 0.3, 0.1, 0.03])
def test_w1_below_linear_below_value_below_w1_plus_eps_log_n(epsilon):
    n = 30
    x, y = clouds(n)
    cost = ground_cost(x, y)
    w1 = ot.emd2([], [], cost).item()
    result = sinkhorn(cost, epsilon=epsilon)
    assert w1 <= result.linear.item() + 1e-12
    assert result.linear.item() < result.value.item()
    assert result.value.item() <= w1 + epsilon * math.log(n)


def test_the_entropic_value_tends_to_w1_as_epsilon_tends_to_zero():
    n = 30
    x, y = clouds(n)
    cost = ground_cost(x, y)
    w1 = ot.emd2([], [], cost).item()
    gaps = []
    for epsilon in (0.1, 0.01, 1e-3):
        with warnings.catch_warnings():   # at ε = 1e-3 the marginals reach ~1e-5, not tol, in 10,000 steps
            warnings.filterwarnings("ignore", "Sinkhorn did not converge")
            gaps.append(abs(sinkhorn(cost, epsilon=epsilon).value.item() - w1))
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-2


def test_sinkhorn_divergence_removes_the_entropic_bias():
    x, y = clouds(20, 25, seed=4)
    epsilon = 0.5
    assert abs(sinkhorn_divergence(x, x, epsilon).item()) < 1e-10
    # Not just the same object; but then ot.dist's ‖x‖² + ‖y‖² − 2⟨x, y⟩ leaves √(rounding) ≈ 1e-8 on the
    # diagonal of the cross cost, so this zero holds only to ~1e-9 (see the report).
    assert abs(sinkhorn_divergence(x, x.clone(), epsilon).item()) < 1e-8
    bias = entropic_wasserstein(x, x, epsilon).item()
    assert bias > 0.1 * epsilon                       # the entropic bias: W_ε(α, α) > 0
    assert bias < epsilon * math.log(len(x))
    s_xy, s_yx = sinkhorn_divergence(x, y, epsilon), sinkhorn_divergence(y, x, epsilon)
    assert s_xy.item() > 1e-2
    assert math.isclose(s_xy.item(), s_yx.item(), rel_tol=1e-8)
    for metric in ("euclidean", "sqeuclidean"):
        for seed in range(3):
            u, v = clouds(10, 12, seed=10 + seed, shift=0.3)
            assert sinkhorn_divergence(u, v, 1.0, metric=metric).item() > 0


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_envelope_gradient_equals_autodiff_and_finite_differences(metric):
    x0, y = clouds(8, 10, seed=3, shift=0.5)
    epsilon = 0.5
    grads = {}
    for mode in ("envelope", "autodiff"):
        x = x0.clone().requires_grad_(True)
        entropic_wasserstein(x, y, epsilon, metric=metric, grad=mode, tol=1e-12).backward()
        grads[mode] = x.grad
    assert grads["envelope"].abs().max() > 1e-2
    torch.testing.assert_close(grads["envelope"], grads["autodiff"], rtol=1e-8, atol=1e-10)
    h = 1e-5
    for i, j in [(0, 0), (3, 1)]:
        plus, minus = x0.clone(), x0.clone()
        plus[i, j] += h
        minus[i, j] -= h
        w = [entropic_wasserstein(p, y, epsilon, metric=metric, grad="detach", tol=1e-13) for p in (plus, minus)]
        difference = ((w[0] - w[1]) / (2 * h)).item()
        for mode in grads:
            assert math.isclose(grads[mode][i, j].item(), difference, rel_tol=1e-6, abs_tol=1e-9), mode


def test_envelope_gradient_with_respect_to_the_cost_is_the_plan():
    x, y = clouds(6, 7, seed=5)
    cost = ground_cost(x, y).requires_grad_(True)
    result = sinkhorn(cost, epsilon=0.4)
    assert not result.plan.requires_grad and not result.linear.requires_grad
    result.value.backward()
    torch.testing.assert_close(cost.grad, result.plan, rtol=0, atol=1e-14)
    assert not sinkhorn(cost, epsilon=0.4, grad="detach").value.requires_grad


def test_sinkhorn_divergence_has_a_finite_gradient_for_the_default_euclidean_cost():
    x, y = clouds(10, 12, seed=6)
    x.requires_grad_(True)
    sinkhorn_divergence(x, y, 0.5).backward()
    assert torch.isfinite(x.grad).all()


def test_sinkhorn_divergence_gradient_with_the_squared_cost_is_finite_and_matches_finite_differences():
    x0, y = clouds(6, 7, seed=7)
    x = x0.clone().requires_grad_(True)
    sinkhorn_divergence(x, y, 0.5, metric="sqeuclidean", tol=1e-12).backward()
    assert torch.isfinite(x.grad).all()
    h = 1e-5
    plus, minus = x0.clone(), x0.clone()
    plus[2, 0] += h
    minus[2, 0] -= h
    s = [sinkhorn_divergence(p, y, 0.5, metric="sqeuclidean", grad="detach", tol=1e-13) for p in (plus, minus)]
    assert math.isclose(x.grad[2, 0].item(), ((s[0] - s[1]) / (2 * h)).item(), rel_tol=1e-6)


def test_ground_cost_metrics_match_cdist():
    x, y = clouds(11, 13, seed=8)
    torch.testing.assert_close(ground_cost(x, y, "euclidean"), torch.cdist(x, y), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ground_cost(x, y), torch.cdist(x, y), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ground_cost(x, y, "sqeuclidean"), torch.cdist(x, y).square(),
                               rtol=1e-10, atol=1e-10)
    line = ground_cost(torch.tensor([0.0, 1.0]), torch.tensor([3.0]))   # 1-D: points on the line
    torch.testing.assert_close(line, torch.tensor([[3.0], [2.0]]))


def test_entropic_wasserstein_is_sinkhorn_on_the_ground_cost():
    x, y = clouds(9, 5, seed=9)
    for metric in ("euclidean", "sqeuclidean"):
        assert math.isclose(entropic_wasserstein(x, y, 0.2, metric=metric).item(),
                            sinkhorn(ground_cost(x, y, metric), epsilon=0.2).value.item(), rel_tol=1e-12)


@pytest.mark.parametrize("epsilon", [0, 0.0, -0.1, float("nan"), float("inf"), True, None, "0.1"])
def test_bad_epsilon_is_refused(epsilon):
    x, y = clouds(4, 5)
    cost = ground_cost(x, y)
    with pytest.raises(ValueError, match="epsilon"):
        check_epsilon(epsilon)
    with pytest.raises(ValueError, match="epsilon"):
        sinkhorn(cost, epsilon=epsilon)
    with pytest.raises(ValueError, match="epsilon"):
        entropic_wasserstein(x, y, epsilon)
    with pytest.raises(ValueError, match="epsilon"):
        sinkhorn_divergence(x, y, epsilon)


def test_good_epsilon_is_a_float():
    assert check_epsilon(1) == 1.0 and isinstance(check_epsilon(1), float)
    assert check_epsilon(0.25) == 0.25


def test_bad_inputs():
    x, y = clouds(4, 5)
    with pytest.raises(ValueError, match="non-empty"):
        ground_cost(torch.zeros(0, 2), y)
    with pytest.raises(ValueError, match="non-empty"):
        entropic_wasserstein(x, torch.zeros(0, 2, dtype=torch.float64), 0.1)
    with pytest.raises(ValueError, match="same dimension"):
        ground_cost(x, torch.zeros(5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="same dimension"):
        sinkhorn_divergence(x, torch.zeros(5, 3, dtype=torch.float64), 0.1)
    with pytest.raises(ValueError, match="unknown metric"):
        ground_cost(x, y, "cityblock")
    with pytest.raises(ValueError, match="unknown metric"):
        entropic_wasserstein(x, y, 0.1, metric="cosine")
    cost = ground_cost(x, y)
    with pytest.raises(ValueError, match="unknown grad"):
        sinkhorn(cost, epsilon=0.1, grad="implicit")
    for bad in (float("nan"), float("inf")):
        broken = cost.clone()
        broken[1, 2] = bad
        with pytest.raises(ValueError, match="NaN or infinite"):
            sinkhorn(broken, epsilon=0.1)
    with pytest.raises(ValueError, match="n × m matrix"):
        sinkhorn(cost[0], epsilon=0.1)
    with pytest.raises(ValueError, match="n × m matrix"):
        sinkhorn(cost[:0], epsilon=0.1)


def test_float32_with_a_small_epsilon_stays_finite_in_the_log_domain():
    n = 20
    x, y = clouds(n, seed=0, dtype=torch.float32)
    x = 2 * x
    cost = ground_cost(x, y)
    epsilon = 0.02
    assert cost.dtype == torch.float32 and cost.max() / epsilon > 100
    assert (torch.exp(-cost / epsilon) == 0).any()   # the kernel K underflows: only the log domain works
    value, linear, plan = sinkhorn(cost, epsilon=epsilon, tol=1e-5)
    assert torch.isfinite(plan).all() and torch.isfinite(value) and torch.isfinite(linear)
    uniform = torch.full((n,), 1 / n)
    torch.testing.assert_close(plan.sum(1), uniform, rtol=1e-3, atol=0)
    torch.testing.assert_close(plan.sum(0), uniform, rtol=1e-3, atol=0)
    w1 = ot.emd2([], [], cost.double()).item()
    assert w1 - 1e-4 <= linear.item() <= value.item() <= w1 + epsilon * math.log(n) + 1e-4
