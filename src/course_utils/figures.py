"""The book's figure style: every figure sized for the text column, with fonts readable there.

The rendered book's text column is about 690 px wide in a 1280 px window. A figure
:data:`TEXT_WIDTH` inches wide fits it at :data:`SCREEN_DPI` pixels per inch, where a
font of 10 pt is 14 px on screen, like the text around it. Saved images are drawn at
:data:`FIGURE_DPI` for sharpness and scaled down to the column by the browser, so their
fonts keep that size; slider frames are drawn at :data:`SCREEN_DPI` and shown as they are.
A figure wider than the column would be shrunk, and its fonts with it: lay several panels
out in rows rather than widen the figure.

:func:`start_chapter <course_utils.profiles.start_chapter>` applies :data:`BOOK_STYLE`, so
``plt.subplots()`` gives a column-wide figure in every chapter; :func:`column_subplots`
gives one of a chosen height.
"""

from __future__ import annotations

import matplotlib as mpl

__all__ = ["BOOK_STYLE", "FIGURE_DPI", "MIN_FONT_SIZE", "SCREEN_DPI", "TEXT_WIDTH",
           "column_subplots", "use_book_style"]

TEXT_WIDTH = 6.8     # inches: the text column at SCREEN_DPI
SCREEN_DPI = 100     # pixels per inch at which a figure's fonts show at their nominal size
FIGURE_DPI = 150     # pixels per inch of saved images, shown scaled by SCREEN_DPI / FIGURE_DPI
MIN_FONT_SIZE = 8    # points: the smallest text a figure may carry (11 px on screen)

BOOK_STYLE = {
    "figure.figsize": (TEXT_WIDTH, 3.2),
    "figure.dpi": FIGURE_DPI,         # the inline backend saves figures at the figure's dpi
    "savefig.dpi": FIGURE_DPI,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def use_book_style() -> None:
    """Apply :data:`BOOK_STYLE` to every figure drawn from now on."""
    mpl.rcParams.update(BOOK_STYLE)


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
