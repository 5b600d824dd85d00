"""Settings for `python -m pytest` (the README's test command).

The chapters run under nbval in kernels started by pytest, which inherit this
environment: the one their saved outputs were produced in by
scripts/execute_notebooks.py (the `ci` profile, on the CPU). The unit tests run in it
too, and import scripts/saved_outputs.py (the stamp of the saved outputs) from here.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
from execute_notebooks import use_fresh_classifier_cache, use_reference_environment  # noqa: E402

use_reference_environment()   # before any kernel starts: they inherit it

import pytest  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Each chapter gets its own classifier cache, as when its outputs were saved: a classifier
    # cached by an earlier chapter would be loaded instead of trained, and a later chapter's
    # saved outputs would differ. nbval starts a chapter's kernel when its first cell is set
    # up, so the cache is replaced just before.
    notebook = item.parent
    if str(notebook.path).endswith(".ipynb") and getattr(pytest_runtest_setup, "last", None) is not notebook:
        pytest_runtest_setup.last = notebook
        use_fresh_classifier_cache()
