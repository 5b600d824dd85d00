"""Time one move of the clip-value slider of chapter "Keeping the critic Lipschitz".

The chapter trains one critic per clip value c; the slider then only redraws
from those precomputed results (course_utils.critic_explorer). This script
builds the same figure from synthetic results of the gpu profile's sizes (a
121 × 121 value grid, every weight of a 3 × 512 critic), so it measures the
redraw and not the training, and prints the time of a live slider move
(update + blitted redraw + image encode) over every position. Target: < 100 ms.

    python benchmarks/bench_clip_slider.py [--repeats 5]
"""

import argparse
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from course_utils.critic_explorer import constraint_explorer  # noqa: E402
from course_utils.profiles import PROFILES  # noqa: E402
from course_utils.sliders import slider_figure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="passes over the slider positions")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    profile = PROFILES["gpu"]
    clip_values = list(profile.clip_values)
    width = profile.critic_width
    n_weights = 2 * width + 2 * width * width + 4 * width + 1  # critic_mlp(width=width) on 2-D data
    surfaces = {c: rng.normal(size=(121, 121)).cumsum(0).cumsum(1) * c for c in clip_values}
    weights = {c: np.clip(rng.normal(scale=2 * c, size=n_weights), -c, c) / c for c in clip_values}
    estimates = [c**4 * 1e4 for c in clip_values]
    fig, show = constraint_explorer(clip_values, surfaces, weights, np.linspace(-1, 1, 41),
                                    {"critic's estimate": estimates}, 0.8, rng.normal(size=(400, 2)),
                                    rng.normal(size=(400, 2)), name="c", histogram_label="weight / c")

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
