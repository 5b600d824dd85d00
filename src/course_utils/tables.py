"""Results as rendered tables: a Markdown table that the book renders as HTML.

A printed fixed-width table is cut at the text column's edge and cannot wrap; a
Markdown table wraps its cells and fits (the book renders a cell's ``text/markdown``
output with ``nb_render_markdown_format: gfm``). Keep tables to a few columns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from IPython.display import Markdown

__all__ = ["markdown_table", "scientific"]


def _cell(value, fmt: str | None) -> str:
    if isinstance(value, str):
        text = value
    elif fmt is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        text = format(value, fmt)
    else:
        text = str(value)
    return text.replace("|", r"\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence], *, fmt: str | None = None,
                   align: str | None = None, caption: str | None = None) -> Markdown:
    """A Markdown table with one row per item of ``rows``.

    Numbers are written with ``format(value, fmt)`` when ``fmt`` is given (``".3f"``);
    strings as they are (they may hold Markdown: `code`, **bold**, $math$). ``align`` holds
    one letter per column, ``l``, ``c`` or ``r`` (default: text left, numbers right, from
    the first row). ``caption`` is a line of text shown under the table.
    """
    header = list(header)
    rows = [list(row) for row in rows]
    if not header:
        raise ValueError("a table needs at least one column")
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"row {i} has {len(row)} cells for {len(header)} columns")
    if align is None:
        first = rows[0] if rows else [""] * len(header)
        align = "".join("r" if isinstance(v, (int, float)) and not isinstance(v, bool) else "l"
                        for v in first)
    if len(align) != len(header) or set(align) - set("lcr"):
        raise ValueError(f"align needs one of l, c, r per column, got {align!r}")
    rule = {"l": ":--", "c": ":-:", "r": "--:"}
    lines = ["| " + " | ".join(_cell(h, None) for h in header) + " |",
             "|" + "|".join(rule[a] for a in align) + "|"]
    lines += ["| " + " | ".join(_cell(v, fmt) for v in row) + " |" for row in rows]
    if caption:
        lines += ["", caption]
    return Markdown("\n".join(lines))


def scientific(x: float, digits: int = 3, *, prefix: str = "") -> str:
    """``x`` for a table cell, as :math:`a \\cdot 10^k` with ``digits`` significant figures.

    Written as MathJax math (``$5.91 \\cdot 10^{-5}$``), which the book typesets in a
    table; without the power when :math:`k = 0` (plain text then, unless a ``prefix`` such
    as ``r"\\times "`` makes it math). One notation for a column whose values span decades.
    """
    if not math.isfinite(x):
        return str(x)
    if digits < 1:
        raise ValueError(f"digits must be at least 1, got {digits}")
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    power = int(exponent)
    if power == 0 and not prefix:
        return mantissa
    return f"${prefix}{mantissa}" + (rf" \cdot 10^{{{power}}}" if power else "") + "$"
