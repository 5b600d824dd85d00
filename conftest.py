"""Settings for `python -m pytest` (the README's test command).

The chapters run under nbval in kernels started by pytest, which inherit this
environment: they use the `ci` profile on the CPU, the settings their saved
outputs were produced with (see scripts/execute_notebooks.py).
"""

import os

os.environ["COURSE_PROFILE"] = "ci"
os.environ["COURSE_DEVICE"] = "cpu"
os.environ.pop("MPLBACKEND", None)  # the kernels' inline backend, as when the outputs were saved
