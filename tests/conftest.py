import matplotlib
import pytest

matplotlib.use("Agg")  # unit tests draw off-screen; the chapters' kernels keep their inline backend


@pytest.fixture(autouse=True, scope="module")
def _own_classifier_cache(tmp_path_factory):
    """Unit tests cache their digit classifiers apart from the chapters' kernels.

    The kernels nbval starts after the unit tests inherit this process's environment: with
    a shared cache they would load a classifier instead of training it, and their output
    (a progress bar) would differ from the saved one.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_CACHE", str(tmp_path_factory.mktemp("classifier-cache")))
        yield
