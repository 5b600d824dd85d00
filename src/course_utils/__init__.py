"""Helpers for the course *Wasserstein GANs, from a toy example to the GPU*.

One module per idea; chapters import what they need:

* :mod:`course_utils.profiles`       profiles (ci, cpu, gpu), device, seeding
* :mod:`course_utils.distances`      TV, KL, JS and W1: definitions, estimators, closed forms
* :mod:`course_utils.parallel_lines` the toy P0 = (0, Z) against Pθ = (θ, Z)
* :mod:`course_utils.sliders`        sliders that work live in Jupyter and in the static book
"""

from .profiles import get_device, get_profile, seed_everything, start_chapter

__all__ = ["get_device", "get_profile", "seed_everything", "start_chapter"]
__version__ = "0.1.0"
