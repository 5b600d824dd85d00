import io
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from course_utils.parallel_lines import theta_explorer
from course_utils.sliders import slider_figure

WIDGET = "application/vnd.jupyter.widget-view+json"


def line_figure():
    fig, ax = plt.subplots()
    (line,) = ax.plot([], [])
    ax.set(xlim=(0, 1), ylim=(-3, 3))
    x = np.linspace(0, 1, 50)

    def update(a):
        line.set_data(x, a * x)
        return (line,)

    return fig, update, line


def test_bundle_has_live_and_static_versions():
    fig, update, _ = line_figure()
    slider = slider_figure(fig, update, [-2, -1, 0, 1, 2], description="a", value=1)
    bundle = slider._repr_mimebundle_()
    assert WIDGET in bundle
    assert bundle["text/plain"] == "<slider figure: a in 5 steps from -2 to 2>"
    html = bundle["text/html"]
    assert html.count("data:image/png;base64,") == 5  # one precomputed frame per value
    assert 'type="range"' in html
    assert "http://" not in html and "https://" not in html  # nothing to fetch: works offline


def test_static_frames_differ_and_figure_returns_to_start_value():
    fig, update, line = line_figure()
    slider = slider_figure(fig, update, [-2, 0, 2], value=2)
    assert ".set_frame(2);" in slider.html  # the static page opens on the start value too
    frames = slider.html.split("data:image/png;base64,")[1:]
    assert len(set(f[:2000] + f[-2000:] for f in frames)) == 3
    assert np.allclose(line.get_ydata(), 2 * line.get_xdata())


def test_moving_the_live_slider_redraws():
    fig, update, line = line_figure()
    slider = slider_figure(fig, update, [-2, 0, 2], value=0)
    first = slider.image.value
    slider.widget.children[0].value = 2  # what dragging the slider does
    assert slider.value == 2 and np.allclose(line.get_ydata(), 2 * line.get_xdata())
    assert slider.image.value != first


def decoded(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=float)


def test_blitted_redraw_matches_a_full_redraw():
    """The fast path (redraw only the changed artists) must show the same picture."""
    fig_a, update_a = theta_explorer(100, np.random.default_rng(0))
    fig_b, update_b = theta_explorer(100, np.random.default_rng(0))
    values = [-0.5, 0.0, 0.5]
    blitted = slider_figure(fig_a, update_a, values, value=-0.5)
    full = slider_figure(fig_b, lambda v: update_b(v) and None, values, value=-0.5)
    for v in (0.5, 0.0):
        blitted.show(v)
        full.show(v)
        assert np.abs(decoded(blitted.image.value) - decoded(full.image.value)).mean() < 0.5


@pytest.mark.parametrize("values, value, message", [
    ([], None, "empty"),
    ([0, math.nan], None, "finite"),
    ([0, "a"], None, "numbers"),
    ([0, 1], 0.5, "not one of the slider values"),
])
def test_bad_slider_values(values, value, message):
    fig, update, _ = line_figure()
    with pytest.raises(ValueError, match=message):
        slider_figure(fig, update, values, value=value)
