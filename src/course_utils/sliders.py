"""Figures with a slider that works with and without a kernel.

:func:`slider_figure` takes a matplotlib figure and the one function that
redraws it for a slider value, and returns an object that Jupyter shows in one
of two ways, from the same output:

* with a kernel (Jupyter, Colab): a live ipywidgets slider that calls the
  function and shows the redrawn figure as an image widget (MIME type
  ``application/vnd.jupyter.widget-view+json``);
* in the static HTML book: a matplotlib animation rendered to JavaScript, one
  precomputed frame per slider value, whose slider works with no kernel
  (MIME type ``text/html``).

The book's ``_config.yml`` lowers the widget view's priority for the HTML
builder (``nb_mime_priority_overrides``) so that the static version is the one
rendered there.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from .figures import SCREEN_DPI

__all__ = ["SliderFigure", "slider_figure"]

_CDN_STYLESHEET = re.compile(r'<link rel="stylesheet"\s+href="https?://[^"]*"\s*/?>\s*')
_ANIMATION_CREATED = re.compile(r"anim(?P<id>[0-9a-f]{32}) = new Animation\([^;]*\);")


class SliderFigure:
    """A figure plus the slider that drives it; display it as a cell's last value."""

    def __init__(self, fig, update: Callable[[float], Iterable | None], values: Sequence[float],
                 description: str, value: float | None, fmt: str, dpi: int):
        self.fig = fig
        FigureCanvasAgg(fig)  # render off-screen, whatever the notebook's backend
        self.update = update
        self.values = list(values)
        self.description = description
        self.value = self.values[0] if value is None else value
        self._background = None
        self.html = self._static_html(dpi)
        self.widget = self._live_widget(fmt)

    def _static_html(self, dpi: int) -> str:
        """One frame per value, rendered to a self-contained JavaScript animation."""
        anim = animation.FuncAnimation(self.fig, self.update, frames=self.values,
                                       init_func=lambda: None, interval=200, repeat=False,
                                       cache_frame_data=False)
        # Each frame is drawn by the savefig that captures it; FuncAnimation's own
        # draw_idle would draw it a second time on an off-screen canvas.
        self.fig.canvas.draw_idle = lambda *args, **kwargs: None
        try:
            with plt.rc_context({"savefig.dpi": dpi}):
                html = anim.to_jshtml(default_mode="once")
        finally:
            del self.fig.canvas.draw_idle
        self.update(self.value)
        # matplotlib links Font Awesome 4 from a CDN for the buttons' icons; the book's
        # theme ships the icons itself, and the book must not reach the network.
        html = _CDN_STYLESHEET.sub("", html)
        # Open on the same value as the live slider, not on the first frame.
        start = self.values.index(self.value)
        return _ANIMATION_CREATED.sub(rf"\g<0> anim\g<id>.set_frame({start});", html, count=1)

    def _live_widget(self, fmt: str) -> widgets.Widget:
        slider = widgets.SelectionSlider(
            options=[(fmt.format(v), v) for v in self.values], value=self.value,
            description=self.description, continuous_update=True,
            layout=widgets.Layout(width="70%"),
        )
        self.image = widgets.Image(format="jpeg")
        slider.observe(lambda change: self.show(change["new"]), names="value")
        self.show(self.value)
        return widgets.VBox([slider, self.image])

    def show(self, value: float) -> None:
        """Redraw the live figure for ``value`` (what moving the slider calls)."""
        self.value = value
        changed = self.update(value) or ()
        self.image.value = self._render(list(changed))

    def _render(self, changed: list) -> bytes:
        """JPEG of the figure; only ``changed`` artists are redrawn when it returns some.

        Blitting: the first call draws everything but the changed artists and
        keeps that background; later calls restore it and draw the changed
        artists on top, which skips the costly part (tick labels, legends, text
        layout) on every move of the slider.
        """
        canvas = self.fig.canvas
        if not changed:
            canvas.draw()
        else:
            if self._background is None:
                for artist in changed:
                    artist.set_animated(True)
                canvas.draw()
                self._background = canvas.copy_from_bbox(self.fig.bbox)
            canvas.restore_region(self._background)
            for artist in changed:
                self.fig.draw_artist(artist)
        # JPEG, not PNG: 4 ms to encode instead of 15 ms for a 1000 × 400 figure; at
        # quality 92 without chroma subsampling, lines and text stay sharp.
        rgb = np.asarray(canvas.buffer_rgba())[..., :3]
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format="jpeg", quality=92, subsampling=0)
        return buffer.getvalue()

    def __repr__(self) -> str:
        return (f"<slider figure: {self.description} in {len(self.values)} steps "
                f"from {self.values[0]:g} to {self.values[-1]:g}>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(self.widget._repr_mimebundle_() or {})
        bundle["text/html"] = self.html
        bundle["text/plain"] = repr(self)
        return bundle


def slider_figure(fig, update: Callable[[float], Iterable | None], values: Sequence[float], *,
                  description: str = "θ", value: float | None = None,
                  fmt: str = "{:.2f}", dpi: int = SCREEN_DPI) -> SliderFigure:
    """Build a live slider and its static twin from one plotting function.

    ``update(v)`` must redraw ``fig`` for the slider value ``v`` by changing its
    artists' data. If it returns the artists it changed (as for matplotlib's
    ``FuncAnimation(blit=True)``), the live slider redraws only those, which is
    several times faster; if it returns nothing, the whole figure is redrawn.
    The artists it does not return must not change. ``values`` are the slider's
    positions, in order: the static page holds one frame per value, so keep
    them to a few dozen. ``value`` is where the live slider starts.

    The static frames are drawn at ``dpi`` pixels per inch and shown at that size: at
    the default, a figure :data:`~course_utils.figures.TEXT_WIDTH` wide fills the text column.

    The figure is closed (``plt.close``) so that the inline backend does not
    show a third, static copy of it.
    """
    try:
        values = [float(v) for v in values]
    except (TypeError, ValueError) as err:
        raise ValueError("slider values must be numbers") from err
    if not values:
        raise ValueError("values is empty: a slider needs at least one position")
    if not all(math.isfinite(v) for v in values):
        raise ValueError("slider values must be finite numbers")
    if value is not None and value not in values:
        raise ValueError(f"start value {value!r} is not one of the slider values")
    if not callable(update):
        raise ValueError("update must be a function of the slider value")
    plt.close(fig)
    return SliderFigure(fig, update, values, description, value, fmt, dpi)
