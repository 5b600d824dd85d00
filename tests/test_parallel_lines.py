import math

import numpy as np
import pytest

from course_utils.distances import histogram_divergences, w1_from_samples
from course_utils.parallel_lines import (closed_forms, plot_closed_form, sample_parallel_lines,
                                         theta_explorer, w1_between_lines)


def test_samples_lie_on_the_segment():
    x = sample_parallel_lines(0.4, 1000, np.random.default_rng(0))
    assert x.shape == (1000, 2)
    assert np.all(x[:, 0] == 0.4) and x[:, 1].min() >= 0 and x[:, 1].max() <= 1
    assert abs(x[:, 1].mean() - 0.5) < 0.03
    blurred = sample_parallel_lines(0.4, 20_000, np.random.default_rng(0), noise=0.1)
    assert blurred[:, 0].std() == pytest.approx(0.1, rel=0.03)


def test_closed_forms_values_and_symmetry():
    for theta in (-0.7, 1e-9, 0.3, 5.0):
        cf = closed_forms(theta)
        assert cf == {"W1": abs(theta), "JS": math.log(2), "KL": math.inf, "TV": 1.0}
        assert closed_forms(-theta) == cf
    assert closed_forms(0.0) == {"W1": 0.0, "JS": 0.0, "KL": 0.0, "TV": 0.0}


def test_sample_estimates_agree_with_closed_forms():
    rng = np.random.default_rng(1)
    x0 = sample_parallel_lines(0.0, 600, rng)
    for theta in (-0.8, 0.35, 1.0):
        y = sample_parallel_lines(theta, 600, rng)
        cf = closed_forms(theta)
        assert w1_from_samples(x0, y) == pytest.approx(cf["W1"], rel=0.02)
        assert w1_from_samples(x0, y) >= abs(theta)
        est = histogram_divergences(x0, y, bin_width=0.1)
        assert est["TV"] == pytest.approx(cf["TV"]) and est["JS"] == pytest.approx(cf["JS"])
        assert est["KL"] == cf["KL"]


def test_sampled_w1_converges_to_theta():
    rng = np.random.default_rng(2)
    theta, errors = 0.2, []
    for n in (25, 100, 400, 1600):
        draws = [w1_from_samples(sample_parallel_lines(0, n, rng), sample_parallel_lines(theta, n, rng))
                 for _ in range(5)]
        errors.append(np.mean(draws) - theta)
    assert all(e > 0 for e in errors)                      # biased upwards, always
    assert errors[0] > errors[1] > errors[2] > errors[3]    # and the bias shrinks with n
    assert errors[-1] < 0.005


@pytest.mark.parametrize("theta", [math.nan, math.inf, -math.inf, "0.5", None, True])
def test_bad_theta(theta):
    with pytest.raises(ValueError, match="theta"):
        closed_forms(theta)
    with pytest.raises(ValueError, match="theta"):
        sample_parallel_lines(theta, 10, np.random.default_rng(0))


@pytest.mark.parametrize("n", [0, -5, 2.5, "10"])
def test_bad_sample_counts(n):
    with pytest.raises(ValueError, match="positive integer"):
        sample_parallel_lines(0.1, n, np.random.default_rng(0))


def test_bad_noise():
    with pytest.raises(ValueError, match="noise"):
        sample_parallel_lines(0.1, 10, np.random.default_rng(0), noise=-0.1)


def test_theta_explorer_shows_the_values_it_computes():
    fig, update = theta_explorer(200, np.random.default_rng(3), shown=20)
    changed = update(0.5)
    texts = [a.get_text() for a in changed if hasattr(a, "get_text")]
    assert "θ = +0.50" in texts
    values = next(t for t in texts if t.startswith("exact"))
    exact, sampled = values.split("\n")
    assert exact.split() == ["exact", "W1", "0.500", "JS", "0.693", "KL", "inf", "TV", "1.000"]
    assert sampled.split()[:2] == ["sampled", "W1"] and float(sampled.split()[2]) >= 0.5
    links = next(a for a in changed if a.__class__.__name__ == "LineCollection")
    segments = links.get_segments()
    assert len(segments) == 20
    # every transport segment goes from the line x1 = 0 to the line x1 = θ
    assert all(s[0][0] == 0.0 and s[1][0] == 0.5 for s in segments)


@pytest.mark.parametrize("theta, n, m", [(0.0, 50, 50), (0.02, 80, 80), (-0.6, 40, 70), (2.0, 65, 30)])
def test_w1_between_lines_equals_the_linear_program(theta, n, m):
    rng = np.random.default_rng(5)
    x, y = sample_parallel_lines(0.0, n, rng), sample_parallel_lines(theta, m, rng)
    w1, (rows, cols, mass) = w1_between_lines(x, y, return_plan=True)
    assert w1 == pytest.approx(w1_from_samples(x, y), rel=1e-12, abs=1e-14)
    assert mass.sum() == pytest.approx(1.0)
    # the plan pairs points in order of height: sorted by the height of x, the heights of y rise too
    order = np.lexsort((y[cols, 1], x[rows, 1]))
    assert np.all(np.diff(y[cols[order], 1]) >= 0)


def test_w1_between_lines_refuses_points_off_the_lines():
    rng = np.random.default_rng(6)
    x, y = sample_parallel_lines(0.0, 20, rng), sample_parallel_lines(0.5, 20, rng, noise=0.1)
    with pytest.raises(ValueError, match="not on one vertical line"):
        w1_between_lines(x, y)
    with pytest.raises(ValueError, match="shape"):
        w1_between_lines(x[:, :1], x)
    with pytest.raises(ValueError, match="NaN"):
        w1_between_lines(np.array([[0.0, np.nan]]), x)


def test_plot_closed_form_shows_jumps_and_only_jumps():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    w1 = plot_closed_form(ax, "W1", np.linspace(-1, 1, 11))
    assert len(ax.lines) == 1 and np.allclose(w1.get_ydata(), np.abs(w1.get_xdata()))  # continuous
    js = plot_closed_form(ax, "JS", np.linspace(-1, 1, 11))
    assert np.isnan(js.get_ydata()[js.get_xdata() == 0]).all()             # no line through the jump
    dots = [tuple(line.get_ydata()) for line in ax.lines[2:]]
    assert dots == [(0.0,), (math.log(2),)]                                # value at 0, then the limit
    kl = plot_closed_form(ax, "KL", [-0.5, 0.5], infinity=1.1)
    assert np.allclose(kl.get_ydata(), [1.1, np.nan, 1.1], equal_nan=True)
    with pytest.raises(ValueError, match="infinity="):
        plot_closed_form(ax, "KL", [-0.5, 0.5])
    plt.close(fig)
