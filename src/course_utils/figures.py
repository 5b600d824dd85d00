"""The book's figure style: every figure sized for the text column, with fonts readable there.

The rendered book's text column is about 690 px wide in a 1280 px window. A figure
:data:`TEXT_WIDTH` inches wide fills it at :data:`SCREEN_DPI` pixels per inch, where a
font of 10 pt is 14 px on screen, like the text around it. In a notebook,
:func:`use_book_style` has figures saved at twice that resolution for sharp lines
(IPython's "retina" format) and shown at :data:`SCREEN_DPI`: the output carries its
display width, which the book and Jupyter both use. Slider frames are drawn at
:data:`SCREEN_DPI` and shown as they are. A figure wider than the column would be
shrunk, and its fonts with it: lay several panels out in rows rather than widen the figure.

Every chapter calls :func:`use_book_style` in its first cell; :func:`column_subplots`
gives a column-wide figure of a chosen height.
"""

from __future__ import annotations

import matplotlib as mpl

__all__ = ["BOOK_STYLE", "MIN_FONT_SIZE", "SCREEN_DPI", "TEXT_WIDTH", "column_subplots",
           "use_book_style"]

TEXT_WIDTH = 6.8     # inches: the text column at SCREEN_DPI
SCREEN_DPI = 100     # pixels per inch at which a figure's fonts show at their nominal size
MIN_FONT_SIZE = 8    # points: the smallest text a figure may carry (11 px on screen)

BOOK_STYLE = {
    "figure.figsize": (TEXT_WIDTH, 3.2),
    "figure.dpi": SCREEN_DPI,
    "savefig.dpi": 2 * SCREEN_DPI,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 11,
    "savefig.pad_inches": 0.03,       # the margin a tight crop adds: a column-wide figure stays in the column
}


def use_book_style() -> None:
    """Apply :data:`BOOK_STYLE` to every figure drawn from now on; in IPython, show
    figures at :data:`SCREEN_DPI` from images of twice that resolution."""
    mpl.rcParams.update(BOOK_STYLE)
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


def column_subplots(nrows: int = 1, ncols: int = 1, *, height: float | None = None, **kwargs):
    """``plt.subplots`` at the text column's width, ``height`` inches high, laid out by
    matplotlib's constrained layout. ``height`` defaults to 2.8 in per row of panels."""
    import matplotlib.pyplot as plt

    if height is None:
        height = 2.8 * nrows
    if height <= 0:
        raise ValueError(f"height must be positive, got {height}")
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(TEXT_WIDTH, height), **kwargs)
