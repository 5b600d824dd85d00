"""Seconds to run each chapter end to end under a profile, as a student or a lab machine would.

Runs every chapter (or those named) in a fresh kernel, in a temporary folder, with
``COURSE_PROFILE`` set, and prints one row per chapter and the total as a Markdown table,
the form of the instructors' page. Nothing is saved: the chapters in book/ are untouched.
The time includes starting the kernel and, where a chapter trains one, the digit classifier
(each chapter trains its own here, as on a student's first run).

    python benchmarks/bench_chapters.py --profile cpu
    python benchmarks/bench_chapters.py --profile ci book/four_distances.ipynb
    python benchmarks/bench_chapters.py --profile gpu --device cuda
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def run_chapter(path: Path, timeout: int) -> float:
    """Seconds to execute every cell of ``path`` in a fresh kernel."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as workdir:
        os.environ["COURSE_CACHE"] = str(Path(workdir) / "cache")   # no classifier cached by an earlier chapter
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": workdir}}).execute()
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=Path)
    parser.add_argument("--profile", required=True, choices=["ci", "cpu", "gpu"])
    parser.add_argument("--device", help="cpu, cuda, ... (default: the profile's choice)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    os.environ["COURSE_PROFILE"] = args.profile
    os.environ.pop("COURSE_CHECKPOINTS", None)   # train the live runs, do not load them
    if args.device:
        os.environ["COURSE_DEVICE"] = args.device
    chapters = args.chapters or [ROOT / "book" / f"{name}.ipynb" for name in (
        "why_gans_struggle", "four_distances", "optimal_transport", "kantorovich_rubinstein",
        "lipschitz_critics", "training_toys", "training_images", "discriminator_ot")]
    threads = os.environ.get("OMP_NUM_THREADS", "all")
    print(f"| chapter | `{args.profile}`, {os.cpu_count()} cores, OMP_NUM_THREADS={threads} |")
    print("|---|--:|")
    total = 0.0
    for path in chapters:
        seconds = run_chapter(path, args.timeout)
        total += seconds
        print(f"| {path.stem} | {seconds:.0f} s |", flush=True)
    print(f"| **total** | **{total:.0f} s ({total / 60:.1f} min)** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
