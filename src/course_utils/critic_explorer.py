"""The figure behind the clip-value and λ sliders of "Keeping the critic Lipschitz".

One critic was trained per slider value; the slider only shows the precomputed
results, so a move costs a redraw, not a training run. Three panels:

* the critic's values on a grid (colours rescaled per frame, since a clipped
  critic's scale changes by orders of magnitude with c), with the two sample sets;
* a histogram (shares of a total) of one quantity per critic: weight / c for
  clipping, the gradient norm at the interpolates for the penalty;
* the estimates of W1 against the slider value, the exact W1 as a dashed line,
  and a ring on the current value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["constraint_explorer"]


def constraint_explorer(values: Sequence[float], surfaces: Mapping, histograms: Mapping, edges,
                        curves: Mapping[str, Sequence[float]], exact: float, real, fake, *,
                        name: str, histogram_label: str, extent=(-3, 3, -3, 3), log_x: bool = True,
                        shown: int = 200):
    """Build the three-panel figure; return ``(fig, update)`` for :func:`slider_figure`.

    ``surfaces[v]`` is the critic's value grid for slider value ``v``,
    ``histograms[v]`` the samples of the quantity histogrammed on ``edges``
    (values outside are counted in the end bins), ``curves`` maps a label to one
    number per value (the first curve carries the ring). ``log_x=False`` spaces
    the values evenly (for a slider that includes 0). ``update(v)`` changes the
    image, title, bars and ring, and returns them.
    """
    import matplotlib.pyplot as plt

    from .figures import TEXT_WIDTH

    values = list(values)
    if not values or any(v not in surfaces or v not in histograms for v in values):
        raise ValueError("surfaces and histograms need one entry per slider value")
    edges = np.asarray(edges, dtype=float)
    first_curve = np.asarray(next(iter(curves.values())), dtype=float)
    positions = np.asarray(values, dtype=float) if log_x else np.arange(len(values), dtype=float)

    def shares(v):
        data = np.clip(np.asarray(histograms[v], dtype=float).ravel(), edges[0], edges[-1] - 1e-12)
        return np.histogram(data, bins=edges)[0] / max(1, data.size)

    # The critic and its histogram side by side, the estimates across the column below them.
    fig = plt.figure(figsize=(TEXT_WIDTH, 5.6), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[1.15, 1])
    axes = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, :])]
    image = axes[0].imshow(surfaces[values[0]], origin="lower", extent=extent, cmap="viridis")
    axes[0].scatter(*np.asarray(fake)[:shown].T, s=2, color="C1", label="generated")
    axes[0].scatter(*np.asarray(real)[:shown].T, s=2, color="w", label="real")
    axes[0].set_title("critic's values (colours rescaled per frame)", fontsize=9)
    axes[0].legend(loc="lower left", fontsize=8, markerscale=3, facecolor="0.3", framealpha=0.8,
                   labelcolor="w", handletextpad=0.1, borderpad=0.3)
    title = fig.suptitle("")
    bars = axes[1].bar(edges[:-1], shares(values[0]), width=np.diff(edges), align="edge", color="C0")
    axes[1].set(xlabel=histogram_label, ylabel="share", ylim=(0, 1))
    # The exact W1 thin and underneath: an estimate that matches it must stay visible on it.
    for marker, (label, curve) in zip("os^v", curves.items()):
        axes[2].plot(positions, curve, marker + "-", label=label, zorder=3)
    axes[2].axhline(exact, color="0.3", lw=1, ls="--", zorder=1, label=f"exact W1 = {exact:.3f}")
    ring, = axes[2].plot([], [], "o", ms=14, mfc="none", mec="k", mew=2)
    axes[2].set(yscale="log", xlabel=name, title="estimates of W1")
    if log_x:
        axes[2].set_xscale("log")
    else:
        axes[2].set(xticks=positions, xticklabels=[f"{v:g}" for v in values])
    axes[2].legend(fontsize=8)

    def update(v):
        i = values.index(v)
        image.set_data(surfaces[v])
        image.set_clim(np.min(surfaces[v]), np.max(surfaces[v]))
        title.set_text(f"critic with {name} = {v:g}: estimate {first_curve[i]:.3g}")
        for bar, share in zip(bars, shares(v)):
            bar.set_height(share)
        ring.set_data([positions[i]], [first_curve[i]])
        return [image, title, ring, *bars]

    return fig, update
