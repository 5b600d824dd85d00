"""What a chapter shows fits the book's text column: figures (so their fonts show at the size
they were set in), code lines and printed lines (so that no block scrolls sideways).
scripts/check_site.py checks the same in the browser, on the built book."""

import base64
import re
import struct
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pytest

from course_utils.figures import (
    MIN_FONT_SIZE, SCREEN_DPI, TEXT_WIDTH, column_subplots, use_book_style,
)

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
# A slider's frames, in matplotlib's JavaScript animation: base64 broken by backslash-newlines.
FRAME = re.compile(r"data:image/png;base64,((?:[A-Za-z0-9+/=]|\\\n)+)")


def png_size(data: bytes) -> tuple[int, int, float]:
    """Width and height in pixels, and pixels per inch from the pHYs chunk (72 if absent)."""
    width, height = struct.unpack(">II", data[16:24])
    at = data.find(b"pHYs")
    per_inch = 72.0
    if at >= 0:
        per_unit, _, unit = struct.unpack(">IIB", data[at + 4:at + 13])
        per_inch = per_unit * 0.0254 if unit == 1 else per_inch
    return width, height, per_inch


def outputs(chapter: Path):
    for index, cell in enumerate(nbformat.read(chapter, as_version=4).cells):
        for output in cell.get("outputs", []):
            yield index, output


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_saved_figures_fit_the_text_column(chapter):
    """Each figure is at most TEXT_WIDTH wide and is shown at SCREEN_DPI from a sharper image."""
    wide, figures = [], 0
    for index, output in outputs(chapter):
        data = output.get("data", {})
        if "image/png" in data:
            figures += 1
            width, _, per_inch = png_size(base64.b64decode(data["image/png"]))
            shown = output.get("metadata", {}).get("image/png", {}).get("width")
            if width / per_inch > TEXT_WIDTH * 1.02:
                wide.append(f"cell {index}: {width / per_inch:.2f} in at {per_inch:.0f} px/in")
            if shown is None or per_inch < 1.5 * SCREEN_DPI or shown > TEXT_WIDTH * SCREEN_DPI * 1.02:
                wide.append(f"cell {index}: {width} px at {per_inch:.0f} px/in shown {shown} px wide")
        html = data.get("text/html", "")
        for frame in FRAME.findall(html if isinstance(html, str) else "".join(html))[:1]:
            width, _, _ = png_size(base64.b64decode(frame.replace("\\\n", "")))
            if width > TEXT_WIDTH * SCREEN_DPI * 1.02:
                wide.append(f"cell {index}: a slider frame {width} px wide")
    assert figures, "the pattern found no figure at all"
    assert not wide, f"figures wider than the {TEXT_WIDTH} in column, or not sharp: {wide}"


def test_no_figure_text_below_the_smallest_font():
    sources = [cell.source for chapter in CHAPTERS
               for cell in nbformat.read(chapter, as_version=4).cells if cell.cell_type == "code"]
    sources += [path.read_text() for path in (ROOT / "src" / "course_utils").glob("*.py")]
    sizes = [float(size) for source in sources
             for size in re.findall(r"(?:fontsize|labelsize)\s*=\s*([0-9.]+)", source)]
    assert sizes, "the pattern found no font size at all"
    assert min(sizes) >= MIN_FONT_SIZE


LINE_LIMIT = 79   # characters of monospaced text the column shows (see _assets/figures.css)


def _solution_free_cells(chapter: Path):
    """The code cells of a chapter outside its exercises' solutions (hidden in a dropdown)."""
    inside = False
    for index, cell in enumerate(nbformat.read(chapter, as_version=4).cells):
        if cell.cell_type == "markdown":
            start, end = cell.source.rfind("solution-start"), cell.source.rfind("solution-end")
            if max(start, end) >= 0:
                inside = start > end
        elif not inside:
            yield index, cell


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_code_and_printed_lines_fit_the_column(chapter):
    wide = []
    for index, cell in _solution_free_cells(chapter):
        wide += [f"cell {index} code: {line[:50]}" for line in cell.source.splitlines()
                 if len(line) > LINE_LIMIT]
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if output.get("output_type") == "stream":
                text = output.get("text", "")
            elif data.keys() & {"text/markdown", "text/html", "image/png"}:
                continue   # rendered, not monospaced
            else:
                text = data.get("text/plain", "")
            text = text if isinstance(text, str) else "".join(text)
            wide += [f"cell {index} prints: {line[:50]}" for line in text.splitlines()
                     if len(line) > LINE_LIMIT]
    assert not wide, f"lines over {LINE_LIMIT} characters: {wide}"


def test_column_subplots_span_the_column_at_the_book_resolution():
    use_book_style()
    fig, axes = column_subplots(2, 2)
    try:
        assert fig.get_figwidth() == pytest.approx(TEXT_WIDTH)
        assert fig.get_figheight() == pytest.approx(5.6)
        assert fig.dpi == SCREEN_DPI and axes.shape == (2, 2)
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="height must be positive"):
        column_subplots(height=0)


def test_png_size_reads_the_resolution_matplotlib_writes(tmp_path):
    fig, _ = plt.subplots(figsize=(2, 1))
    fig.savefig(tmp_path / "f.png", dpi=120)
    plt.close(fig)
    width, height, per_inch = png_size((tmp_path / "f.png").read_bytes())
    assert (width, height) == (240, 120) and per_inch == pytest.approx(120, abs=0.1)
