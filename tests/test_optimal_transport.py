import itertools
import math

import numpy as np
import ot
import pytest
import torch

from course_utils.optimal_transport import w1_dual_lp, wasserstein


def test_uniform_equal_sizes_match_the_best_permutation():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) + 1
    cost = np.linalg.norm(x[:, None] - y[None], axis=2)
    best = min(cost[range(6), list(p)].mean() for p in itertools.permutations(range(6)))
    value, plan = wasserstein(x, y, return_plan=True)
    assert math.isclose(value, best, rel_tol=1e-12)
    assert np.allclose(plan.sum(1), 1 / 6) and np.allclose(plan.sum(0), 1 / 6)


def test_w2_is_at_least_w1_and_matches_the_squared_cost():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(40, 2)) * 2
    w1, w2 = wasserstein(x, y, p=1), wasserstein(x, y, p=2)
    assert w1 <= w2
    assert math.isclose(w2**2, ot.emd2([], [], ot.dist(x, y)), rel_tol=1e-10)


def test_weights_and_one_dimensional_case():
    x, y = np.array([0.0, 1.0]), np.array([3.0])
    assert math.isclose(wasserstein(x, y, a=[0.25, 0.75]), 0.25 * 3 + 0.75 * 2)
    rng = np.random.default_rng(2)
    u, v = rng.normal(size=(50, 1)), rng.normal(size=(50, 1)) + 0.5
    assert math.isclose(wasserstein(u, v), ot.wasserstein_1d(u, v, p=1)[0], rel_tol=1e-9)


def test_torch_inputs_stay_differentiable():
    x = torch.randn(10, 2, dtype=torch.float64, requires_grad=True)
    value = wasserstein(x, torch.randn(10, 2, dtype=torch.float64) + 3)
    value.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dual_lp_matches_emd2_and_its_critic_is_1_lipschitz(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(7, 2)), rng.normal(size=(9, 2)) + [1.5, 0]
    a, b = rng.dirichlet(np.ones(7)), rng.dirichlet(np.ones(9))
    value, f_x, f_y = w1_dual_lp(x, y, a, b)
    primal = ot.emd2(a, b, ot.dist(x, y, metric="euclidean"))
    assert math.isclose(value, primal, rel_tol=1e-7)
    assert math.isclose(a @ f_x - b @ f_y, value, rel_tol=1e-9)
    points, f = np.concatenate([x, y]), np.concatenate([f_x, f_y])
    gaps = np.abs(f[:, None] - f[None]) - ot.dist(points, points, metric="euclidean")
    assert gaps.max() < 1e-7


def test_bad_inputs():
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="same dimension"):
        wasserstein(x, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="no points"):
        wasserstein(np.zeros((0, 2)), x)
    with pytest.raises(ValueError, match="sum to 1"):
        wasserstein(x, x, a=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="one weight per point"):
        w1_dual_lp(x, x, a=[0.5, 0.5])
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        wasserstein(x, x, p=3)
