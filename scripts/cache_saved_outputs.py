"""Put the chapters, with their saved outputs, into the book's execution cache.

`jupyter-book build` then renders those outputs instead of executing the chapters
again (`make book-saved`, used by CI, where `make test` executes every chapter under
nbval and checks that it reproduces exactly these outputs). The saved outputs are
the `ci` profile's (scripts/execute_notebooks.py).

    python scripts/cache_saved_outputs.py _build/.jupyter_cache book/*.ipynb
"""

import argparse
import sys
from pathlib import Path

from jupyter_cache import get_cache


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache", type=Path, help="the cache folder jupyter-book reads (_build/.jupyter_cache)")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args()
    cache = get_cache(args.cache)
    for path in args.notebooks:
        # check_validity: every code cell must carry its execution count, in order (a notebook
        # saved half-executed is refused rather than rendered with missing outputs)
        cache.cache_notebook_file(str(path.resolve()), check_validity=True, overwrite=True)
        print(f"{path}: saved outputs cached")
    return 0


if __name__ == "__main__":
    sys.exit(main())
