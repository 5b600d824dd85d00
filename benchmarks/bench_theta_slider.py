"""Time one move of the θ slider of chapter "Four ways to compare distributions".

One move = what the live widget does when a student drags θ: recompute the four
values (the exact W1 on 2 × 500 points, TV/KL/JS from histograms), redraw the
figure and encode the image the widget shows. Prints the compute part and the
whole move over every slider position (target: < 50 ms), and for comparison
the time of the general 2-D linear program (ot.emd2) on the same points, which
the slider avoids with an exact shortcut (w1_between_lines).

    python benchmarks/bench_theta_slider.py [--points 500] [--repeats 3]
"""

import argparse
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from course_utils.distances import w1_from_samples  # noqa: E402
from course_utils.parallel_lines import sample_parallel_lines, theta_explorer  # noqa: E402
from course_utils.sliders import slider_figure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=500, help="points per distribution")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the slider positions")
    args = parser.parse_args()

    thetas = [float(t) for t in np.round(np.linspace(-1, 1, 41), 2)]
    fig, update = theta_explorer(args.points, np.random.default_rng(0))
    slider = slider_figure(fig, update, thetas, value=0.5)

    compute, total = [], []
    for _ in range(args.repeats):
        for theta in thetas:
            start = time.perf_counter()
            update(theta)
            compute.append(time.perf_counter() - start)
            start = time.perf_counter()
            slider.show(theta)  # what a slider move runs: update + blitted redraw + PNG
            total.append(time.perf_counter() - start)

    def ms(values, q):
        return 1e3 * statistics.quantiles(values, n=100)[q - 1] if q < 100 else 1e3 * max(values)

    print(f"theta slider, {args.points} points per distribution, {len(total)} moves")
    print(f"{'':28}{'median':>8}{'p90':>8}{'max':>8}  (ms)")
    for name, values in (("compute (4 values)", compute), ("move (compute+redraw+image)", total)):
        print(f"{name:28}{ms(values, 50):8.1f}{ms(values, 90):8.1f}{ms(values, 100):8.1f}")
    rng = np.random.default_rng(1)
    x0 = sample_parallel_lines(0.0, args.points, rng)
    lp = []
    for theta in thetas[::4]:
        y = sample_parallel_lines(theta, args.points, rng)
        start = time.perf_counter()
        w1_from_samples(x0, y)
        lp.append(time.perf_counter() - start)
    print(f"{'2-D linear program (ot.emd2)':28}{ms(lp, 50):8.1f}{ms(lp, 90):8.1f}{ms(lp, 100):8.1f}"
          "  (not used by the slider)")
    print(f"static page: {len(slider.html) / 1e6:.2f} MB of HTML for {len(thetas)} frames")


if __name__ == "__main__":
    main()
