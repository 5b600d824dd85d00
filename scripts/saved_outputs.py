"""The stamp that ties a chapter's saved outputs to the code that produced them.

The saved outputs are the published book (CI renders them without executing the
chapters), so they must be what today's code produces. When
`scripts/execute_notebooks.py` saves a chapter's outputs it records, in the notebook's
metadata under ``saved_outputs``:

- ``profile``: the profile the chapter ran with (always ``ci``);
- ``code``: a digest of the chapter's code cells;
- ``modules``: a digest of each ``course_utils`` module the chapter's kernel had imported
  by its last cell (the package code it calls);
- ``outputs``: a digest of the outputs themselves, so that outputs saved any other way
  (Jupyter's Save after a run with another profile, a hand edit) are caught too.

`stale_reasons` recomputes them; `tests/test_saved_outputs.py` fails on any difference.
Python code is compared by its syntax tree without comments and docstrings, so editing a
comment or a docstring does not make outputs stale, while any change to what runs does.
The tree is written out field by field, skipping empty fields, so that the digest is the
same under every Python version the course supports (``ast.dump`` differs between them).
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

PROFILE = "ci"
KEY = "saved_outputs"
PACKAGE = "course_utils"
PACKAGE_ROOT = Path("src")   # where course_utils lives, relative to the repository root

# Run in the chapter's kernel after its last cell: the course_utils modules it imported.
MODULES_PROBE = (
    "import json as _json, sys as _sys\n"
    f"print(_json.dumps(sorted(n for n in _sys.modules if n == {PACKAGE!r} or n.startswith({PACKAGE + '.'!r}))))"
)


def _canonical(node):
    """A syntax tree as nested lists: node names and their non-empty fields (which vary by version)."""
    if isinstance(node, ast.AST):
        fields = ((name, getattr(node, name, None)) for name in node._fields)
        return [type(node).__name__, *([name, _canonical(value)] for name, value in fields if value not in (None, []))]
    if isinstance(node, list):
        return [_canonical(item) for item in node]
    return repr(node)


def code_digest(source: str) -> str:
    """Digest of Python code without its comments, docstrings and layout (raw text if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:   # e.g. IPython magics: compare the text itself
        return hashlib.sha256(source.encode("utf8")).hexdigest()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:]
    return hashlib.sha256(json.dumps(_canonical(tree)).encode("utf8")).hexdigest()


def module_file(name: str, root: Path) -> Path:
    """The source file of module ``name`` (``course_utils.training``) in the repository at ``root``."""
    base = root / PACKAGE_ROOT / Path(*name.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def cells_digest(nb) -> str:
    return hashlib.sha256("".join(code_digest(cell.source)
                                  for cell in nb.cells if cell.cell_type == "code").encode()).hexdigest()


def outputs_digest(nb) -> str:
    saved = [[cell.get("execution_count"), cell.get("outputs", [])] for cell in nb.cells if cell.cell_type == "code"]
    return hashlib.sha256(json.dumps(saved, sort_keys=True, ensure_ascii=False).encode("utf8")).hexdigest()


def make_stamp(nb, modules: list[str], root: Path) -> dict:
    """The stamp of a notebook just executed, whose kernel had imported ``modules``."""
    return {"profile": PROFILE, "code": cells_digest(nb),
            "modules": {name: code_digest(module_file(name, root).read_text(encoding="utf8")) for name in modules},
            "outputs": outputs_digest(nb)}


def stale_reasons(nb, root: Path) -> list[str]:
    """Why the saved outputs of ``nb`` may not be what the code at ``root`` produces (empty: they are)."""
    stamp = nb.metadata.get(KEY)
    if not stamp:
        return ["no stamp: the outputs were not saved by scripts/execute_notebooks.py"]
    reasons = []
    if stamp.get("profile") != PROFILE:
        reasons.append(f"saved with the {stamp.get('profile')!r} profile, not {PROFILE!r}")
    if stamp.get("code") != cells_digest(nb):
        reasons.append("the chapter's code cells changed")
    if stamp.get("outputs") != outputs_digest(nb):
        reasons.append("the outputs were saved by something else (Jupyter's Save, a hand edit)")
    for name, digest in sorted(stamp.get("modules", {}).items()):
        path = module_file(name, root)
        if not path.is_file():
            reasons.append(f"{path.relative_to(root)} no longer exists")
        elif code_digest(path.read_text(encoding="utf8")) != digest:
            reasons.append(f"{path.relative_to(root)} changed")
    return reasons


def make_stale_message(path, reasons: list[str]) -> str:
    return (f"{path}: the saved outputs (the published book) may not be what today's code produces: "
            f"{'; '.join(reasons)}. Regenerate them with: .venv/bin/python scripts/execute_notebooks.py {path}")
