"""Execute chapters with the `ci` profile on the CPU and save their outputs in place.

The saved outputs are what nbval compares against in `make test`, so regenerate
them (`make notebooks`) whenever a chapter's code or printed output changes.

    python scripts/execute_notebooks.py book/four_distances.ipynb [...]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:  # files a chapter writes never land in book/
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": workdir}}).execute()
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args()
    os.environ["COURSE_PROFILE"] = "ci"   # the saved outputs are those of the ci profile ...
    os.environ["COURSE_DEVICE"] = "cpu"   # ... on the CPU, where they are deterministic
    os.environ.pop("MPLBACKEND", None)   # a backend set outside (Agg) would drop every figure
    os.environ.pop("COURSE_CHECKPOINTS", None)   # train, never load pre-trained runs, as under nbval
    os.environ["COURSE_CACHE"] = tempfile.mkdtemp(prefix="wgan-course-cache-")   # no stale classifier
    for path in args.notebooks:
        print(f"{path}: {execute(path, args.timeout):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
