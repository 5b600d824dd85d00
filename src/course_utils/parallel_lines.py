"""The parallel-lines toy: P0 = (0, Z) against Pθ = (θ, Z), Z ~ U[0, 1].

Example 1 of Arjovsky, Chintala & Bottou (2017), *Wasserstein GAN*. Both
distributions live on vertical segments of the plane; for θ ≠ 0 the segments
are disjoint, which is what real data and a generator's samples look like when
both lie on low-dimensional manifolds.
"""

from __future__ import annotations

import math

import numpy as np
import ot

__all__ = ["sample_parallel_lines", "closed_forms", "w1_between_lines", "plot_closed_form",
           "theta_explorer"]


def _check_theta(theta) -> float:
    if isinstance(theta, bool) or not isinstance(theta, (int, float, np.integer, np.floating)):
        raise ValueError(f"theta must be a real number, got {theta!r}")
    if not math.isfinite(theta):
        raise ValueError(f"theta must be finite, got {theta!r}")
    return float(theta)


def sample_parallel_lines(theta: float, n: int, rng: np.random.Generator, noise: float = 0.0) -> np.ndarray:
    """Draw n points of Pθ = (θ + noise·ε, Z), Z ~ U[0, 1], ε ~ N(0, 1); shape (n, 2).

    ``noise = 0`` is the paper's example; ``noise > 0`` smooths both lines into
    bands, the smooth counterpart where every divergence is finite.
    """
    theta = _check_theta(theta)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number ≥ 0, got {noise!r}")
    first = np.full(n, theta) if noise == 0 else theta + noise * rng.standard_normal(n)
    return np.column_stack([first, rng.uniform(0.0, 1.0, n)])


def closed_forms(theta: float) -> dict[str, float]:
    """W1, JS, KL and TV between P0 and Pθ, as derived in the paper.

    * W1(P0, Pθ) = |θ|
    * JS(P0, Pθ) = log 2 for θ ≠ 0, else 0
    * KL(Pθ‖P0) = KL(P0‖Pθ) = +∞ for θ ≠ 0, else 0 (both +∞: KL is never negative)
    * TV(P0, Pθ) = 1 for θ ≠ 0, else 0
    """
    theta = _check_theta(theta)
    apart = theta != 0.0
    return {
        "W1": abs(theta),
        "JS": math.log(2.0) if apart else 0.0,
        "KL": math.inf if apart else 0.0,
        "TV": 1.0 if apart else 0.0,
    }


def w1_between_lines(x: np.ndarray, y: np.ndarray, return_plan: bool = False):
    """Exact W1 between two equal-weight samples lying on two vertical lines, in O(n log n).

    For x_i = (a, s_i) and y_j = (b, t_j) the cost is ‖x_i − y_j‖ = √((a − b)² + (s_i − t_j)²),
    a convex function of the height gap s_i − t_j. For such costs the monotone
    coupling (the k-th lowest point of x to the k-th lowest of y) is optimal
    (Villani 2009, Santambrogio 2015 Thm 2.9), so POT's 1-D solver ``ot.emd_1d`` on
    the heights gives an optimal plan of the 2-D problem; W1 is its cost. Same
    value as :func:`course_utils.distances.w1_from_samples`, without the O(n³)
    linear program. With ``return_plan``: also (rows, cols, masses) of the plan.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    for name, v in (("x", x), ("y", y)):
        if v.ndim != 2 or v.shape[1] != 2 or len(v) == 0:
            raise ValueError(f"{name} must have shape (n, 2) with n ≥ 1, got {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if np.any(v[:, 0] != v[0, 0]):
            raise ValueError(f"the points of {name} are not on one vertical line: "
                             "use course_utils.distances.w1_from_samples")
    plan = ot.emd_1d(x[:, 1], y[:, 1], dense=False).tocoo()
    w1 = float(np.sum(plan.data * np.linalg.norm(x[plan.row] - y[plan.col], axis=1)))
    return (w1, (plan.row, plan.col, plan.data)) if return_plan else w1


def plot_closed_form(ax, name: str, thetas, infinity: float | None = None, **style):
    """Draw θ ↦ closed_forms(θ)[name] on ``ax``, with its jump at θ = 0 shown as one.

    Where the value at θ = 0 differs from the limit as θ → 0, no line joins them:
    the value is drawn as a filled dot and the limit as an open one. +∞ is drawn at
    height ``infinity`` (needed for KL). ``style`` goes to ``ax.plot``.
    """
    thetas = np.union1d(np.asarray(thetas, dtype=np.float64), [0.0])
    values = np.array([closed_forms(t)[name] for t in thetas])
    at_zero, limit = closed_forms(0.0)[name], closed_forms(1e-12)[name]
    if np.isinf(values).any():
        if infinity is None:
            raise ValueError(f"{name} is +∞ for θ ≠ 0: pass infinity=, the height to draw +∞ at")
        values[np.isinf(values)] = infinity
        limit = infinity if math.isinf(limit) else limit
    jump = not math.isclose(limit, at_zero, abs_tol=1e-9)  # W1's limit at θ = 1e-12 is 1e-12
    if jump:
        values[thetas == 0.0] = np.nan
    (line,) = ax.plot(thetas, values, **style)
    if jump:
        ax.plot([0], [at_zero], "o", ms=5, color=line.get_color())
        ax.plot([0], [limit], "o", ms=5, color=line.get_color(), mfc="white")
    return line


def theta_explorer(n: int, rng: np.random.Generator, bin_width: float = 0.1, shown: int = 40,
                   theta_range: tuple[float, float] = (-1.0, 1.0)):
    """The figure behind the θ slider, and the function that redraws it for a θ.

    Left: n points of P0 and n of Pθ (fixed heights, so the cloud moves rigidly
    with θ) and ``shown`` of the segments of the optimal transport plan. Right:
    the closed forms of W1, JS and TV against θ, the sampled estimates at the
    current θ, and a table of all four values, exact and sampled. Each update
    recomputes the exact W1 on the 2 × n points (:func:`w1_between_lines`) and
    TV/KL/JS from histograms of side ``bin_width``.

    Returns ``(fig, update)`` for :func:`course_utils.sliders.slider_figure`;
    ``update(θ)`` redraws the figure and returns the artists it changed.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from .distances import histogram_divergences

    base = sample_parallel_lines(0.0, n, rng)
    target_z = rng.uniform(0.0, 1.0, n)

    from .figures import TEXT_WIDTH

    # The points and the curves side by side; under them, the values at θ as two lines of text
    # (inside the curves' panel they would cover a curve for some θ).
    fig, (ax_pts, ax_val) = plt.subplots(1, 2, figsize=(TEXT_WIDTH, 4.0),
                                         gridspec_kw={"width_ratios": [1, 1.5]})
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.25, top=0.86, wspace=0.2)
    lo, hi = theta_range
    ax_pts.set(xlim=(lo - 0.15, hi + 0.15), ylim=(-0.05, 1.05), xlabel="$x_1$", ylabel="$x_2$")
    links = LineCollection([], colors="0.6", linewidths=0.8, zorder=1)
    ax_pts.add_collection(links)
    ax_pts.plot(base[:, 0], base[:, 1], "o", ms=2.5, color="C0", label=r"$P_0$", zorder=2)
    (moving,) = ax_pts.plot([], [], "o", ms=2.5, color="C3", label=r"$P_\theta$", zorder=2)
    # Above the panel, where no point can go.
    ax_pts.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False,
                  borderaxespad=0.1, handletextpad=0.2)

    grid = np.linspace(lo, hi, 401)
    for name, color, label in (("W1", "C0", r"$W_1 = |\theta|$"), ("JS", "C1", "JS"), ("TV", "C2", "TV")):
        plot_closed_form(ax_val, name, grid, color=color, label=label)
    ax_val.set(xlim=(lo, hi), ylim=(-0.05, 1.25), xlabel=r"$\theta$",
               xticks=np.linspace(lo, hi, 5))
    marker = ax_val.axvline(0.0, color="0.3", lw=0.8, ls="--")
    (estimates,) = ax_val.plot([], [], "kx", ms=7, mew=1.5, label="sampled")
    ax_val.legend(loc="upper center", ncol=4, fontsize=8, handlelength=1.2, columnspacing=0.8)
    fig.suptitle(rf"$P_0 = (0, Z)$ against $P_\theta = (\theta, Z)$, $Z \sim U[0, 1]$, {n} points each",
                 fontsize=11)

    names = ("W1", "JS", "KL", "TV")
    text = {"transform": fig.transFigure, "family": "monospace", "fontsize": 9, "va": "bottom"}
    values_text = fig.text(0.09, 0.02, "", ha="left", **text)
    # Above the panel, right of the legend: inside it would cover the points.
    theta_label = ax_pts.text(1.0, 1.01, "", transform=ax_pts.transAxes, ha="right", va="bottom",
                              fontsize=11)

    def update(theta: float):
        moved = np.column_stack([np.full(n, theta), target_z])
        w1, (rows, cols, _) = w1_between_lines(base, moved, return_plan=True)
        sampled = {"W1": w1, **histogram_divergences(base, moved, bin_width)}
        exact = closed_forms(theta)
        pairs = np.linspace(0, len(rows) - 1, shown).astype(int)  # spread over all heights
        links.set_segments(np.stack([base[rows[pairs]], moved[cols[pairs]]], axis=1))
        moving.set_data(moved[:, 0], moved[:, 1])
        marker.set_xdata([theta, theta])
        estimates.set_data([theta] * 3, [sampled["W1"], sampled["JS"], sampled["TV"]])
        values_text.set_text("\n".join(
            [f"{label:<8}" + "   ".join(f"{k} {values[k]:>6.3f}" for k in names)
             for label, values in (("exact", exact), ("sampled", sampled))]))
        theta_label.set_text(f"θ = {theta:+.2f}")
        return links, moving, marker, estimates, values_text, theta_label

    return fig, update
