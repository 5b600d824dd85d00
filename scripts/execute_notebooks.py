"""Execute chapters with the `ci` profile on the CPU and save their outputs in place.

The saved outputs are what nbval compares against in `make test`, so regenerate
them (`make notebooks`) whenever a chapter's code or printed output changes.
`conftest.py` runs nbval's kernels in the same environment (`use_reference_environment`).

    python scripts/execute_notebooks.py book/four_distances.ipynb [...]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# The CPU code paths the saved outputs are computed with. A trained network's printed
# numbers depend on them down to the last digit: by default Intel's MKL takes different
# kernels on Intel and AMD processors, and PyTorch and oneDNN use AVX-512 wherever the
# processor has it, so outputs saved on one machine did not reproduce on another. Pinned
# to AVX2 (MKL's conditional numerical reproducibility mode) with a fixed thread count,
# any x86-64 processor with AVX2 should run the same kernels (checked on one machine:
# MKL_CBWR alone changes a trained classifier's weights there; repeated runs are identical).
REFERENCE_CPU = {
    "MKL_CBWR": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "OMP_NUM_THREADS": "2",
}


def use_reference_environment() -> None:
    """Set the environment saved outputs are computed in; kernels started afterwards inherit it."""
    os.environ["COURSE_PROFILE"] = "ci"   # the saved outputs are those of the ci profile ...
    os.environ["COURSE_DEVICE"] = "cpu"   # ... on the CPU, where they are deterministic
    os.environ.update(REFERENCE_CPU)
    os.environ.pop("MPLBACKEND", None)   # a backend set outside (Agg) would drop every figure
    os.environ.pop("COURSE_CHECKPOINTS", None)   # train, never load pre-trained runs
    use_fresh_classifier_cache()


def use_fresh_classifier_cache() -> None:
    """An empty digit-classifier cache for the next kernel: each chapter trains its own classifier
    (and shows its progress bar) instead of loading one cached by an earlier chapter."""
    os.environ["COURSE_CACHE"] = tempfile.mkdtemp(prefix="wgan-course-cache-")


def execute(path: Path, timeout: int) -> float:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    use_fresh_classifier_cache()
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
    use_reference_environment()
    for path in args.notebooks:
        print(f"{path}: {execute(path, args.timeout):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
