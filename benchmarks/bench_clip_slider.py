"""Time one move of the clip-value slider of chapter "Keeping the critic Lipschitz".

The chapter trains one critic per clip value c, then the slider only redraws from
those precomputed results: a 121 × 121 value surface (image data and colour
limits), a 40-bar histogram of weight / c, a marker and a title. This script
builds a figure with the same artists and the same update, fed with synthetic
precomputed results of the chapter's sizes (no training: it measures the
redraw), and prints the time of a live slider move (update + blitted redraw +
image encode) over every position. Target: under 100 ms.

    python benchmarks/bench_clip_slider.py [--repeats 5]
"""

import argparse
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from course_utils.profiles import PROFILES  # noqa: E402
from course_utils.sliders import slider_figure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="passes over the slider positions")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    clip_values = list(PROFILES["gpu"].clip_values)
    width = PROFILES["gpu"].critic_width
    n_weights = 2 * width + 2 * width * width + 4 * width + 1  # a 3 × width critic_mlp on 2-D data
    runs = {c: {"surface": rng.normal(size=(121, 121)).cumsum(0).cumsum(1) * c,
                "weights": np.clip(rng.normal(scale=2 * c, size=n_weights), -c, c),
                "estimate": c ** 4 * 1e4} for c in clip_values}
    edges = np.linspace(-1, 1, 41)

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    image = axes[0].imshow(runs[clip_values[0]]["surface"], origin="lower", extent=(-3, 3, -3, 3))
    axes[0].scatter(*rng.normal(size=(2, 400)), s=2)
    title = axes[0].set_title("")
    _, _, bars = axes[1].hist(runs[clip_values[0]]["weights"] / clip_values[0], bins=edges)
    axes[1].set(ylim=(0, 1))
    axes[2].loglog(clip_values, [runs[c]["estimate"] for c in clip_values], "o-")
    marker, = axes[2].plot([], [], "o", ms=14, mfc="none", mec="k")
    fig.tight_layout()

    def show(c):
        run = runs[c]
        image.set_data(run["surface"])
        image.set_clim(run["surface"].min(), run["surface"].max())
        title.set_text(f"critic with c = {c:g}: estimate {run['estimate']:.3g}")
        shares = np.histogram(run["weights"] / c, bins=edges)[0] / len(run["weights"])
        for bar, share in zip(bars, shares):
            bar.set_height(share)
        marker.set_data([c], [run["estimate"]])
        return [image, title, marker, *bars]

    start = time.perf_counter()
    slider = slider_figure(fig, show, clip_values, description="clip c", value=0.01, fmt="{:g}")
    static = time.perf_counter() - start
    moves = []
    for _ in range(args.repeats):
        for c in clip_values:
            start = time.perf_counter()
            slider.show(c)
            moves.append(time.perf_counter() - start)
    q = statistics.quantiles(moves, n=10)
    print(f"clip slider, {len(clip_values)} positions, {len(moves)} moves, "
          f"{n_weights} weights per critic (gpu profile sizes)")
    print(f"one move (update + redraw + image): median {1e3 * statistics.median(moves):.1f} ms, "
          f"p90 {1e3 * q[8]:.1f} ms, max {1e3 * max(moves):.1f} ms")
    print(f"static page: {len(clip_values)} frames rendered in {static:.1f} s, "
          f"{len(slider.html) / 1e6:.2f} MB of HTML")


if __name__ == "__main__":
    main()
