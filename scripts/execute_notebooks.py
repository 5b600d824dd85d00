"""Execute chapters with the `ci` profile on the CPU, save their outputs in place, and stamp them.

The saved outputs are the published book and what nbval compares against in `make test`,
so regenerate them (`make notebooks`) whenever a chapter's code or the package code it
calls changes; `tests/test_saved_outputs.py` fails until you do (see saved_outputs.py for
the stamp). `conftest.py` runs nbval's kernels in the same environment
(`use_reference_environment`).

    python scripts/execute_notebooks.py book/four_distances.ipynb [...]
    python scripts/execute_notebooks.py --stale book/*.ipynb     # only those whose stamp is off
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from saved_outputs import KEY, MODULES_PROBE, PACKAGE_ROOT, make_stamp, stale_reasons

ROOT = Path(__file__).resolve().parent.parent


def use_reference_environment() -> None:
    """Set the environment saved outputs are computed in; kernels started afterwards inherit it.

    No CPU code path is pinned: the outputs nbval compares are those that do not depend on
    the processor (see CONTRIBUTING.md), and the rest may differ in their last digits.
    """
    os.environ["COURSE_PROFILE"] = "ci"   # the saved outputs are those of the ci profile ...
    os.environ["COURSE_DEVICE"] = "cpu"   # ... on the CPU
    os.environ.pop("MPLBACKEND", None)   # a backend set outside (Agg) would drop every figure
    os.environ.pop("COURSE_CHECKPOINTS", None)   # train, never load pre-trained runs
    use_fresh_classifier_cache()


def use_fresh_classifier_cache() -> None:
    """An empty digit-classifier cache for the next kernel: each chapter trains its own classifier
    (and shows its progress bar) instead of loading one cached by an earlier chapter."""
    os.environ["COURSE_CACHE"] = tempfile.mkdtemp(prefix="wgan-course-cache-")


def execute(path: Path, timeout: int) -> float:
    """Run every cell of ``path``, then save it with its outputs and their stamp."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop(KEY, None)
    nb.cells.append(nbformat.v4.new_code_cell(MODULES_PROBE))   # run last, removed before saving
    package = {file: file.read_bytes() for file in (ROOT / PACKAGE_ROOT).rglob("*.py")}
    use_fresh_classifier_cache()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:  # files a chapter writes never land in book/
        NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": workdir}}).execute()
    elapsed = time.perf_counter() - start
    probe = nb.cells.pop()
    loaded = json.loads(probe.outputs[0]["text"])
    edited = [str(file.relative_to(ROOT)) for file, text in package.items()
              if not file.is_file() or file.read_bytes() != text]
    if edited:   # the stamp would describe code other than the code that ran
        raise RuntimeError(f"{', '.join(edited)} changed while {path} ran: its outputs were not saved")
    nbformat.write(nb, path)
    saved = nbformat.read(path, as_version=4)   # the stamp describes the file as written
    saved.metadata[KEY] = make_stamp(saved, loaded["modules"], ROOT, loaded["reference_runs"])
    nbformat.write(saved, path)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--stale", action="store_true",
                        help="execute only the chapters whose saved outputs are stale")
    args = parser.parse_args()
    use_reference_environment()
    for path in args.notebooks:
        if args.stale:
            reasons = stale_reasons(nbformat.read(path, as_version=4), ROOT)
            if not reasons:
                print(f"{path}: up to date", flush=True)
                continue
            print(f"{path}: stale ({'; '.join(reasons)})", flush=True)
        print(f"{path}: {execute(path, args.timeout):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
