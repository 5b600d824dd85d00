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
