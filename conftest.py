"""Settings for `python -m pytest` (the README's test command).

The chapters run under nbval in kernels started by pytest, which inherit this
environment: they use the `ci` profile on the CPU, the settings their saved
outputs were produced with (see scripts/execute_notebooks.py).
"""

import os
import tempfile

os.environ["COURSE_PROFILE"] = "ci"
os.environ["COURSE_DEVICE"] = "cpu"
os.environ.pop("MPLBACKEND", None)  # the kernels' inline backend, as when the outputs were saved
# The chapters train (never load) their MNIST runs here, as when their outputs were saved, and the
# digit classifier is cached for this session only, not in the user's ~/.cache.
os.environ.pop("COURSE_CHECKPOINTS", None)
os.environ["COURSE_CACHE"] = tempfile.mkdtemp(prefix="wgan-course-cache-")


import pytest  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Each chapter gets its own classifier cache, as when its outputs were saved (one kernel per
    # chapter in execute_notebooks.py): a classifier cached by an earlier chapter would be loaded
    # instead of trained, and a later chapter's saved outputs would differ. nbval starts a
    # chapter's kernel when its first cell is set up, so the variable is set just before.
    notebook = item.parent
    if str(notebook.path).endswith(".ipynb") and getattr(pytest_runtest_setup, "last", None) is not notebook:
        pytest_runtest_setup.last = notebook
        os.environ["COURSE_CACHE"] = tempfile.mkdtemp(prefix="wgan-course-cache-")
