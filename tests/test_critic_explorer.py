import numpy as np
import pytest

from course_utils.critic_explorer import constraint_explorer


def make(values=(0.01, 0.1, 1.0), log_x=True):
    rng = np.random.default_rng(0)
    surfaces = {v: rng.normal(size=(5, 5)) * v for v in values}
    histograms = {v: rng.uniform(-1, 1, size=100) * (i + 1) for i, v in enumerate(values)}
    curves = {"estimate": [1.0, 2.0, 3.0]}
    return constraint_explorer(values, surfaces, histograms, np.linspace(-1, 1, 11), curves, 2.5,
                               rng.normal(size=(10, 2)), rng.normal(size=(10, 2)), name="c",
                               histogram_label="w / c", log_x=log_x), surfaces, histograms


def test_update_redraws_image_bars_and_ring_for_each_value():
    (fig, update), surfaces, histograms = make()
    changed = update(0.1)
    image, title, ring, *bars = changed
    assert np.array_equal(image.get_array(), surfaces[0.1])
    assert image.get_clim() == (surfaces[0.1].min(), surfaces[0.1].max())
    assert "c = 0.1" in title.get_text() and "2" in title.get_text()
    heights = np.array([b.get_height() for b in bars])
    clipped = np.clip(histograms[0.1], -1, 1 - 1e-12)
    assert np.allclose(heights, np.histogram(clipped, bins=np.linspace(-1, 1, 11))[0] / 100)
    assert abs(heights.sum() - 1) < 1e-12  # values outside the edges land in the end bins
    assert list(ring.get_xdata()) == [0.1] and list(ring.get_ydata()) == [2.0]


def test_even_spacing_for_a_slider_that_includes_zero():
    (fig, update), _, _ = make(values=(0.0, 1.0, 10.0), log_x=False)
    *_, ring = update(10.0)[:3]
    assert list(ring.get_xdata()) == [2.0]


def test_missing_results_are_an_error():
    with pytest.raises(ValueError, match="one entry per slider value"):
        constraint_explorer([1.0], {}, {}, [0, 1], {"e": [1]}, 1.0, np.zeros((1, 2)), np.zeros((1, 2)),
                            name="c", histogram_label="x")
