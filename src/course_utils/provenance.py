"""What code produced a result: digests of Python code that ignore comments and docstrings.

Two things in the course must be traced to the code that made them: the
chapters' saved outputs (``scripts/saved_outputs.py``) and the reference runs
(:mod:`course_utils.reference_runs`). Both record :func:`code_digest` of the
modules involved, and a test recomputes it:

- Python code is compared by its syntax tree without comments, docstrings and
  layout, so rewording a docstring changes nothing, while any change to what
  runs does;
- the tree is written out field by field, skipping empty fields, so that the
  digest is the same under every Python version the course supports
  (``ast.dump`` differs between them).
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

__all__ = ["code_digest", "module_digests", "package_imports"]

PACKAGE = "course_utils"
PACKAGE_DIR = Path(__file__).resolve().parent


def _canonical(node):
    """A syntax tree as nested lists: node names and their non-empty fields."""
    if isinstance(node, ast.AST):
        fields = ((name, getattr(node, name, None)) for name in node._fields)
        return [type(node).__name__,
                *([name, _canonical(value)] for name, value in fields
                  if value not in (None, []))]
    if isinstance(node, list):
        return [_canonical(item) for item in node]
    return repr(node)


def code_digest(source: str) -> str:
    """SHA-256 of Python code without its comments, docstrings and layout.

    Code that does not parse (IPython magics) is digested as raw text.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return hashlib.sha256(source.encode("utf8")).hexdigest()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                              ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:]
    canonical = json.dumps(_canonical(tree)).encode("utf8")
    return hashlib.sha256(canonical).hexdigest()


def _module_file(name: str, package_dir: Path) -> Path:
    base = package_dir.joinpath(*name.split(".")[1:])
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def package_imports(module: str, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """``module`` and every course_utils module it imports, directly or not.

    Read from the source (``from .x import …``, ``import course_utils.x``),
    without importing anything: the code a result computed with ``module``
    can depend on. The package's ``__init__`` is included.
    """
    seen, todo = set(), [module, PACKAGE]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name, package_dir)
        if not path.is_file():
            raise ValueError(f"{name} is not a module of {PACKAGE} ({path})")
        seen.add(name)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    todo.append(f"{PACKAGE}.{node.module}")
                else:
                    todo += [f"{PACKAGE}.{alias.name}" for alias in node.names]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = ([alias.name for alias in node.names]
                         if isinstance(node, ast.Import) else [node.module or ""])
                todo += [n for n in names if n.startswith(PACKAGE + ".")]
    return sorted(seen)


def module_digests(modules: list[str], package_dir: Path = PACKAGE_DIR) -> dict:
    """``{module: code_digest(its source)}`` for course_utils modules."""
    return {name: code_digest(_module_file(name, package_dir).read_text(encoding="utf8"))
            for name in modules}
