"""The students' hand-out (``make handout``): every chapter without its solutions, and nothing leaks."""

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from make_handout import leaks, split_solutions

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))

EXERCISE = "## Exercises\n\n```{exercise}\n:label: ex-a\n\nWhat is 2 + 2?\n```\n\n"
START = "```{solution-start} ex-a\n:class: dropdown\n```\n\nThe answer is four, since two plus two is four.\n"
END = "```{solution-end}\n```\n\n"


def toy_chapter():
    answer = new_code_cell("print('two plus two equals', 2 + 2)  # the solution's check")
    answer.outputs = [new_output("stream", name="stdout", text="two plus two equals 4\n")]
    return new_notebook(cells=[
        new_markdown_cell("# A chapter\n\nSome teaching text that stays in the hand-out."),
        new_code_cell("x = 1  # a cell of the chapter itself"),
        new_markdown_cell(EXERCISE + START),
        answer,
        new_markdown_cell(END + "```{exercise}\n:label: ex-b\n\nAnd 3 + 3?\n```\n\n"
                          "```{solution} ex-b\n:class: dropdown\n\nSix, as three and three make six.\n```\n\n"
                          "## Summary\n\nText after the exercises stays as well."),
    ])


def test_solutions_go_and_everything_else_stays():
    handout, removed = split_solutions(toy_chapter())
    text = "\n".join(cell.source for cell in handout.cells)
    assert "Some teaching text" in text and "x = 1" in text and "Text after the exercises" in text
    assert "What is 2 + 2?" in text and "And 3 + 3?" in text
    assert "four" not in text and "Six" not in text and "two plus two" not in text
    assert len(handout.cells) == 4   # the exercise cell keeps its text before the solution
    assert len(removed) == 3   # per cell: the start and its text; the code cell; the end and the block


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_the_chapters_hand_out_keeps_the_exercises_and_leaks_no_solution(chapter):
    original = nbformat.read(chapter, as_version=4)
    handout, removed = split_solutions(original)
    assert removed, "every chapter has solutions to remove"
    assert leaks(original, handout) == []
    figures = lambda nb: sum("image/png" in output.get("data", {})
                             for cell in nb.cells for output in cell.get("outputs", []))
    assert 0 < figures(handout) <= figures(original)   # the chapter's figures stay


def test_the_check_sees_a_leaked_solution():
    chapter = toy_chapter()
    handout, removed = split_solutions(chapter)
    code = next(piece for piece in removed if not isinstance(piece, str))
    assert any("solution line shown" in problem
               for problem in leaks(chapter, new_notebook(cells=[*handout.cells, code])))
    shown = new_markdown_cell(START + END)
    assert "a solution directive is left" in leaks(chapter, new_notebook(cells=[*handout.cells, shown]))
    assert any("2 exercises in the chapter, 1" in problem
               for problem in leaks(chapter, new_notebook(cells=handout.cells[:2] + handout.cells[3:])))


def test_an_unclosed_solution_is_an_error():
    with pytest.raises(ValueError, match="no {solution-end}"):
        split_solutions(new_notebook(cells=[new_markdown_cell(EXERCISE + START)]))
