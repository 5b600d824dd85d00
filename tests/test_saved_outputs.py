"""The chapters' saved outputs are the published book: they must be what today's code produces.

nbval (``make test``) re-executes every chapter and compares the outputs that do not depend
on the processor (cells tagged ``nbval-check-output``). These tests cover the rest: each
chapter's stamp (scripts/saved_outputs.py) must match its code cells, the course_utils
modules it imports and its outputs, so that no figure or number of the book comes from
older code.
"""

import shutil
from pathlib import Path

import nbformat
import pytest

from saved_outputs import KEY, code_digest, make_stale_message, make_stamp, stale_reasons

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_saved_outputs_come_from_todays_code(chapter):
    reasons = stale_reasons(nbformat.read(chapter, as_version=4), ROOT)
    assert not reasons, make_stale_message(chapter.relative_to(ROOT), reasons)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_every_chapter_compares_some_outputs(chapter):
    # nbval runs in lax mode: a chapter with no tagged cell would be executed but never compared
    nb = nbformat.read(chapter, as_version=4)
    checked = [i for i, cell in enumerate(nb.cells)
               if cell.cell_type == "code" and "nbval-check-output" in cell.metadata.get("tags", [])]
    first_code = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    assert first_code in checked, f"{chapter.name}: the first code cell (profile and device) is not compared"


# The stamp itself, on a small repository of its own.

def small_repository(tmp_path):
    package = tmp_path / "src" / "course_utils"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""The package."""\nfrom .maths import double\n')
    (package / "maths.py").write_text('def double(x):\n    """Twice x."""\n    return 2 * x  # exact\n')
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter"),
                nbformat.v4.new_code_cell("from course_utils import double\nprint(double(21))", execution_count=1,
                                          outputs=[nbformat.v4.new_output("stream", name="stdout", text="42\n")])]
    nb.metadata[KEY] = make_stamp(nb, ["course_utils", "course_utils.maths"], tmp_path)
    return nb, package


def test_a_fresh_stamp_is_current(tmp_path):
    nb, _ = small_repository(tmp_path)
    assert stale_reasons(nb, tmp_path) == []


def test_prose_comments_and_docstrings_do_not_make_outputs_stale(tmp_path):
    nb, package = small_repository(tmp_path)
    nb.cells[0].source = "# A chapter, reworded"
    nb.cells[1].source = "from course_utils import double  # the package\n\nprint(double( 21 ))"
    (package / "maths.py").write_text('def double(x):\n    """Two times x."""\n    # exact in floating point\n'
                                      '    return 2 * x\n')
    assert stale_reasons(nb, tmp_path) == []


@pytest.mark.parametrize("change, reason", [
    (lambda nb, package: setattr(nb.cells[1], "source", "from course_utils import double\nprint(double(20))"),
     "code cells changed"),
    (lambda nb, package: (package / "maths.py").write_text("def double(x):\n    return x + x\n"),
     "src/course_utils/maths.py changed"),
    (lambda nb, package: (package / "maths.py").unlink(), "maths.py no longer exists"),
    (lambda nb, package: nb.cells[1].outputs[0].update(text="41\n"), "saved by something else"),
    (lambda nb, package: nb.metadata[KEY].update(profile="cpu"), "'cpu' profile"),
    (lambda nb, package: nb.metadata.pop(KEY), "no stamp"),
])
def test_what_makes_outputs_stale(tmp_path, change, reason):
    nb, package = small_repository(tmp_path)
    change(nb, package)
    reasons = stale_reasons(nb, tmp_path)
    assert len(reasons) == 1 and reason in reasons[0], reasons


def test_code_digest_sees_code_not_layout():
    assert code_digest("x = 1  # one\n") == code_digest("x=1\n")
    assert code_digest("x = 1\n") != code_digest("x = 2\n")
    assert code_digest('print("a")') != code_digest('print("b")')   # strings that run are code
    assert code_digest("%timeit f()") != code_digest("%timeit g()")  # not Python: compared as text


def test_code_digest_is_the_same_under_every_python_version():
    # ast.dump writes other trees under Python 3.11, 3.12 and 3.13 (new fields, empty ones
    # omitted), which would make every chapter stale on a newer Python. This digest was computed
    # under all three and is the same: a change of the canonical form must keep it so.
    snippet = ('class Critic:\n    """Scores."""\n    def score(self, x: float, *, scale: int = 2) -> str:\n'
               '        return f"{x * scale:.3f} {x!r}"\n')
    assert code_digest("\n" + snippet) == "7119e50e4731ad7a3cbe0b230a339d524b63ee3a01d3d930d401051ace8b0cb6"


def test_the_stamped_chapters_can_be_copied_elsewhere(tmp_path):
    # Nothing in a stamp depends on where the repository lies.
    shutil.copytree(ROOT / "src", tmp_path / "src")
    shutil.copytree(ROOT / "reference_runs", tmp_path / "reference_runs",
                    ignore=shutil.ignore_patterns(".work", "*.pt"))   # the manifests name the weights
    chapter = CHAPTERS[0]
    nb = nbformat.read(chapter, as_version=4)
    assert stale_reasons(nb, tmp_path) == stale_reasons(nb, ROOT)


def test_a_retrained_reference_run_makes_its_chapters_stale(tmp_path):
    nb, _ = small_repository(tmp_path)
    runs = tmp_path / "reference_runs"
    runs.mkdir()
    (runs / "toy-x.json").write_text('{"file": {"sha256": "aaa"}}')
    nb.metadata[KEY] = make_stamp(nb, ["course_utils", "course_utils.maths"], tmp_path, {"toy-x": "aaa"})
    assert stale_reasons(nb, tmp_path) == []
    (runs / "toy-x.json").write_text('{"file": {"sha256": "bbb"}}')
    assert stale_reasons(nb, tmp_path) == ["reference run toy-x was retrained"]
    (runs / "toy-x.json").unlink()
    assert stale_reasons(nb, tmp_path) == ["reference run toy-x no longer exists"]
