import math

import numpy as np
import ot
import pytest
from scipy import integrate, stats

from course_utils.distances import (gaussian_closed_forms, histogram_divergences, js_discrete,
                                    kl_discrete, tv_discrete, w1_from_samples)

LOG2 = math.log(2)


def random_pairs(count=200, size=12, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        p, q = rng.dirichlet(np.full(size, 0.5)), rng.dirichlet(np.full(size, 0.5))
        yield p, q


# --- properties on probability vectors --------------------------------------------------

def test_ranges_and_symmetry():
    for p, q in random_pairs():
        kl, js, tv = kl_discrete(p, q), js_discrete(p, q), tv_discrete(p, q)
        assert kl >= 0
        assert 0 <= js <= LOG2
        assert 0 <= tv <= 1
        assert js == pytest.approx(js_discrete(q, p), abs=1e-15)
        assert tv == pytest.approx(tv_discrete(q, p), abs=1e-15)
        # Pinsker's inequality links two of them: TV ≤ sqrt(KL / 2).
        assert tv <= math.sqrt(kl / 2) + 1e-12


def test_zero_exactly_on_equal_distributions():
    p = np.array([0.2, 0.3, 0.5])
    assert kl_discrete(p, p) == 0 and js_discrete(p, p) == 0 and tv_discrete(p, p) == 0


def test_disjoint_supports_hit_the_bounds():
    p, q = np.array([0.5, 0.5, 0, 0]), np.array([0, 0, 0.9, 0.1])
    assert tv_discrete(p, q) == 1
    assert js_discrete(p, q) == pytest.approx(LOG2, abs=1e-15)
    assert kl_discrete(p, q) == math.inf and kl_discrete(q, p) == math.inf


def test_kl_against_direct_sum_and_infinite_only_where_q_vanishes():
    p, q = np.array([0.1, 0.6, 0.3, 0.0]), np.array([0.2, 0.2, 0.5, 0.1])
    expected = sum(a * math.log(a / b) for a, b in zip(p, q) if a > 0)
    assert kl_discrete(p, q) == pytest.approx(expected, rel=1e-14)
    assert kl_discrete(q, p) == math.inf  # q puts mass where p puts none


@pytest.mark.parametrize("p, q, message", [
    ([0.5, 0.5], [1.0], "same shape"),
    ([0.5, 0.6], [0.5, 0.5], "sum to 1"),
    ([1.5, -0.5], [0.5, 0.5], "negative"),
    ([np.nan, 1.0], [0.5, 0.5], "NaN"),
    ([], [], "empty"),
])
def test_bad_probability_vectors(p, q, message):
    for f in (tv_discrete, kl_discrete, js_discrete):
        with pytest.raises(ValueError, match=message):
            f(p, q)


# --- closed forms against numerics -------------------------------------------------------

@pytest.mark.parametrize("mu, sigma", [(0.3, 1.0), (1.7, 1.0), (-2.5, 0.5), (0.05, 0.01)])
def test_gaussian_closed_forms_against_quadrature(mu, sigma):
    P, Q = stats.norm(0, sigma), stats.norm(mu, sigma)
    lo, hi = min(0, mu) - 12 * sigma, max(0, mu) + 12 * sigma
    pts = sorted({0.0, mu / 2, mu})
    kl = integrate.quad(lambda t: P.pdf(t) * (P.logpdf(t) - Q.logpdf(t)), lo, hi, points=pts, limit=200)[0]
    tv = integrate.quad(lambda t: 0.5 * abs(P.pdf(t) - Q.pdf(t)), lo, hi, points=pts, limit=200)[0]
    w1 = integrate.quad(lambda t: abs(P.cdf(t) - Q.cdf(t)), lo, hi, points=pts, limit=200)[0]

    def js_integrand(t):  # the definition, written independently of the package's log-space form
        p, q = P.pdf(t), Q.pdf(t)
        m = 0.5 * (p + q)
        return 0.5 * (p * math.log(p / m) if p > 0 else 0.0) + 0.5 * (q * math.log(q / m) if q > 0 else 0.0)

    js = integrate.quad(js_integrand, lo, hi, points=pts, limit=200)[0]
    cf = gaussian_closed_forms(mu, sigma)
    assert cf["KL"] == pytest.approx(kl, rel=1e-6, abs=1e-9)
    assert cf["TV"] == pytest.approx(tv, rel=1e-6, abs=1e-9)
    assert cf["W1"] == pytest.approx(w1, rel=1e-6, abs=1e-9)
    assert cf["JS"] == pytest.approx(js, rel=1e-6, abs=1e-9)


def test_gaussian_w1_against_pot_on_samples():
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1, (20_000, 1)), rng.normal(1.2, 1, (20_000, 1))
    assert ot.wasserstein_1d(x, y, p=1)[0] == pytest.approx(gaussian_closed_forms(1.2)["W1"], abs=0.03)


def test_gaussian_js_limits():
    assert gaussian_closed_forms(0.0)["JS"] == 0.0
    assert gaussian_closed_forms(60.0)["JS"] == pytest.approx(LOG2, abs=1e-12)
    values = [gaussian_closed_forms(m)["JS"] for m in np.linspace(0, 8, 30)]
    assert np.all(np.diff(values) > 0)


@pytest.mark.parametrize("mu, sigma", [(math.nan, 1.0), (math.inf, 1.0), (1.0, 0.0), (1.0, -1.0), ("1", 1.0)])
def test_gaussian_bad_inputs(mu, sigma):
    with pytest.raises(ValueError):
        gaussian_closed_forms(mu, sigma)


# --- estimators from samples --------------------------------------------------------------

def test_w1_from_samples_matches_exact_1d_and_is_symmetric():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(300, 1)), rng.exponential(size=(300, 1))
    exact_1d = np.mean(np.abs(np.sort(x[:, 0]) - np.sort(y[:, 0])))  # sorted matching is optimal in 1-D
    assert w1_from_samples(x, y) == pytest.approx(exact_1d, rel=1e-10)
    assert w1_from_samples(y, x) == pytest.approx(w1_from_samples(x, y), rel=1e-12)


def test_w1_from_samples_uses_euclidean_norm_and_returns_plan():
    x, y = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])
    assert w1_from_samples(x, y) == pytest.approx(5.0)  # not 25, POT's default squared cost
    w1, plan = w1_from_samples(np.zeros((4, 2)), np.ones((2, 2)), return_plan=True)
    assert w1 == pytest.approx(math.sqrt(2))
    assert plan.shape == (4, 2) and np.allclose(plan.sum(1), 0.25) and np.allclose(plan.sum(0), 0.5)


def test_w1_from_samples_differentiable_with_torch():
    import torch

    theta = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    z = torch.linspace(0, 1, 50, dtype=torch.float64)
    x = torch.stack([torch.zeros_like(z), z], 1)
    y = torch.stack([theta.expand_as(z), z], 1)
    w1 = w1_from_samples(x, y)
    w1.backward()
    assert w1.item() == pytest.approx(0.7) and theta.grad.item() == pytest.approx(1.0)


@pytest.mark.parametrize("x, y, message", [
    (np.zeros((0, 2)), np.zeros((3, 2)), "no points"),
    (np.zeros((3, 2)), np.zeros((3, 3)), "same dimension"),
    (np.zeros((3, 2, 1)), np.zeros((3, 2)), "shape"),
    (np.array([[0.0, np.nan]]), np.zeros((3, 2)), "NaN"),
    (np.array([[0.0, np.inf]]), np.zeros((3, 2)), "infinite"),
])
def test_estimators_reject_bad_samples(x, y, message):
    with pytest.raises(ValueError, match=message):
        w1_from_samples(x, y)
    with pytest.raises(ValueError, match=message):
        histogram_divergences(x, y, bin_width=0.1)


def test_histogram_divergences_bounds_and_resolution():
    rng = np.random.default_rng(3)
    x = np.column_stack([np.zeros(400), rng.uniform(size=400)])
    far = np.column_stack([np.full(400, 0.3), rng.uniform(size=400)])
    d = histogram_divergences(x, far, bin_width=0.1)
    assert d["TV"] == pytest.approx(1.0) and d["JS"] == pytest.approx(LOG2) and d["KL"] == math.inf
    near = np.column_stack([np.full(400, 0.02), rng.uniform(size=400)])  # within a bin: unresolved
    assert histogram_divergences(x, near, bin_width=0.1)["TV"] < 0.2
    with pytest.raises(ValueError, match="bin_width"):
        histogram_divergences(x, far, bin_width=0.0)
    with pytest.raises(ValueError, match="larger bin width"):
        histogram_divergences(x, far, bin_width=1e-7)


def test_histogram_tv_approaches_gaussian_closed_form():
    rng = np.random.default_rng(4)
    x, y = rng.normal(0, 1, 200_000), rng.normal(1.0, 1, 200_000)
    assert histogram_divergences(x, y, bin_width=0.05)["TV"] == pytest.approx(
        gaussian_closed_forms(1.0)["TV"], abs=0.01)
