"""Time exact optimal transport (ot.dist + ot.emd2) as the clouds grow, and fit the growth rate.

Chapter "Optimal transport" says that exact OT between two clouds of n points costs more
than linear time (the n × n cost matrix, then the network simplex). This measures it:
the best of a few runs at each n, and the slope of log(time) against log(n) over the
largest sizes (n² memory and reading alone would give 2). A timing, so it lives here and
not in a test.

    python benchmarks/bench_exact_ot.py [--sizes 250 500 1000 2000 4000] [--repeats 3]
"""

import argparse
import time

import numpy as np
import ot


def best_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000, 4000])
    parser.add_argument("--repeats", type=int, default=3, help="runs per size; the best is kept")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    warm = rng.normal(size=(50, 2))
    ot.emd2([], [], ot.dist(warm, warm + 1, metric="euclidean"))   # the first call pays for imports
    print(f"{'n':>6} {'seconds':>9} {'W1':>7}")
    seconds = []
    for n in args.sizes:
        x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + [1.0, 0.0]
        value = ot.emd2([], [], ot.dist(x, y, metric="euclidean"), numItermax=10**7)
        seconds.append(best_time(lambda: ot.emd2([], [], ot.dist(x, y, metric="euclidean"), numItermax=10**7),
                                 args.repeats))
        print(f"{n:>6} {seconds[-1]:>9.3f} {value:>7.4f}", flush=True)
    largest = slice(-3, None)
    slope = np.polyfit(np.log(args.sizes[largest]), np.log(seconds[largest]), 1)[0]
    print(f"time grows like n^{slope:.2f} over n = {args.sizes[largest][0]}..{args.sizes[-1]} "
          f"(the cost matrix alone: n^2, {args.sizes[-1] ** 2 * 8 / 1e6:.0f} MB at n = {args.sizes[-1]})")


if __name__ == "__main__":
    main()
