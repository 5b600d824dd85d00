"""Write the students' version of every chapter: the same notebooks without the exercises' solutions.

A solution is everything between ```{solution-start} and ```{solution-end} (sphinx-exercise's
gated form, which may span several cells: its code cells go with it, outputs included) or
inside a ```{solution} block. The exercises stay; so do every other cell and its saved
outputs (figures, tables), so that a student sees the chapter as the book shows it.

After writing, the hand-out is checked against the chapters: no solution directive is left,
no line of a solution's text or code and no solution output appears in it, and every
exercise is still there. A leak is an error (exit status 1).

    python scripts/make_handout.py                 # writes _build/handout/*.ipynb
    python scripts/make_handout.py --out DIR book/four_distances.ipynb
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import nbformat

from saved_outputs import KEY

ROOT = Path(__file__).resolve().parent.parent

# The fences of sphinx-exercise's directives, with their option lines: ```{solution-start} label
_FENCE = r"(?P<fence>`{3,}|:{3,})"
_START = re.compile(rf"^{_FENCE}\{{solution-start\}}[^\n]*\n(?:[ \t]*:[^\n]*\n)*(?P=fence)[ \t]*(?:\n|$)", re.M)
_END = re.compile(rf"^{_FENCE}\{{solution-end\}}[^\n]*\n(?:[ \t]*:[^\n]*\n)*(?P=fence)[ \t]*(?:\n|$)", re.M)
_BLOCK = re.compile(rf"^{_FENCE}\{{solution\}}.*?^(?P=fence)[ \t]*(?:\n|$)", re.M | re.S)
_EXERCISE = re.compile(r"^(?:`{3,}|:{3,})\{exercise(?:-start)?\}", re.M)
_DIRECTIVE = re.compile(r"\{solution(?:-start|-end)?\}")


def _split_markdown(text: str, inside: bool) -> tuple[str, str, bool]:
    """Split a markdown cell's text into what stays and what is solution, in reading order.

    ``inside`` says whether the cell starts inside a gated solution; returns the text kept,
    the text removed, and whether the cell ends inside one.
    """
    kept, removed, at = [], [], 0
    while at <= len(text):
        if inside:
            end = _END.search(text, at)
            stop = end.end() if end else len(text)
            removed.append(text[at:stop])
            at, inside = stop, end is None
            if end is None:
                break
        else:
            start = _START.search(text, at)
            block = _BLOCK.search(text, at)
            first = min((m for m in (start, block) if m), key=lambda m: m.start(), default=None)
            if first is None:
                kept.append(text[at:])
                break
            kept.append(text[at:first.start()])
            if first is block:
                removed.append(block.group(0))
                at = block.end()
            else:
                removed.append(start.group(0))
                at, inside = start.end(), True
    return "".join(kept), "".join(removed), inside


def split_solutions(nb) -> tuple[nbformat.NotebookNode, list]:
    """Return the hand-out (a copy of ``nb`` without solutions) and the removed pieces:
    markdown text (str) and whole code cells."""
    handout = copy.deepcopy(nb)
    handout.metadata.pop(KEY, None)   # the stamp describes the chapter, not the hand-out
    cells, removed, inside = [], [], False
    for cell in handout.cells:
        if cell.cell_type == "markdown":
            kept, gone, inside = _split_markdown(cell.source, inside)
            if gone:
                removed.append(gone)
            if kept.strip():
                cell.source = kept.strip("\n")
                cells.append(cell)
        elif inside:
            removed.append(cell)
        else:
            cells.append(cell)
    if inside:
        raise ValueError("a {solution-start} has no {solution-end}")
    handout.cells = cells
    return handout, removed


def _fragments(piece) -> list[str]:
    """What would show that a removed piece leaked: its lines of text or code, and its outputs."""
    if isinstance(piece, str):
        lines = piece.splitlines()
    else:
        lines = piece.source.splitlines()
        for output in piece.get("outputs", []):
            lines += "".join(output.get("text", "")).splitlines()
            for value in output.get("data", {}).values():
                lines += (value if isinstance(value, str) else json.dumps(value)).splitlines()
    return [line.strip() for line in lines if len(line.strip()) >= 20]


def _everything(nb) -> str:
    """The notebook as one text: sources and outputs."""
    return json.dumps([cell for cell in nb.cells], default=dict, ensure_ascii=False)


def leaks(chapter, handout) -> list[str]:
    """The ways ``handout`` shows a solution of ``chapter`` (empty when it shows none)."""
    without, removed = split_solutions(chapter)
    problems = []
    if any(_DIRECTIVE.search(cell.source) for cell in handout.cells):
        problems.append("a solution directive is left")
    kept_text = _everything(handout)
    # Lines that also appear outside the solutions (a repeated import, a formula) prove nothing.
    outside = _everything(without)
    for piece in removed:
        for line in _fragments(piece):
            encoded = json.dumps(line, ensure_ascii=False)[1:-1]
            if encoded in kept_text and encoded not in outside:
                problems.append(f"solution line shown: {line[:60]!r}")
    count = lambda notebook: sum(len(_EXERCISE.findall(cell.source))
                                 for cell in notebook.cells if cell.cell_type == "markdown")
    if count(handout) != count(chapter):
        problems.append(f"{count(chapter)} exercises in the chapter, {count(handout)} in the hand-out")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "handout")
    args = parser.parse_args()
    chapters = args.chapters or sorted((ROOT / "book").glob("*.ipynb"))
    args.out.mkdir(parents=True, exist_ok=True)
    failed = False
    for path in chapters:
        chapter = nbformat.read(path, as_version=4)
        handout, removed = split_solutions(chapter)
        target = args.out / path.name
        nbformat.write(handout, target)
        problems = leaks(chapter, nbformat.read(target, as_version=4))
        solutions = sum(len(_START.findall(piece)) + len(_BLOCK.findall(piece))
                        for piece in removed if isinstance(piece, str))
        print(f"{path.name}: {solutions} solutions removed, "
              f"{len(chapter.cells) - len(handout.cells)} cells fewer"
              + ("" if not problems else f"; LEAKS: {'; '.join(problems)}"))
        failed |= bool(problems)
    where = args.out.resolve()
    where = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where
    print(f"hand-out written to {where}/" if not failed else "the hand-out leaks solutions")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
