"""The stamp that ties a chapter's saved outputs to the code that produced them.

The saved outputs are the published book (CI renders them without executing the
chapters), so they must be what today's code produces. When
`scripts/execute_notebooks.py` saves a chapter's outputs it records, in the notebook's
metadata under ``saved_outputs``:

- ``profile``: the profile the chapter ran with (always ``ci``);
- ``code``: a digest of the chapter's code cells;
- ``modules``: a digest of each ``course_utils`` module the chapter's kernel had imported
  by its last cell (the package code it calls);
- ``reference_runs``: the SHA-256 of each reference run the chapter loaded, as its
  manifest in ``reference_runs/`` names it (a retrained run changes the figures);
- ``outputs``: a digest of the outputs themselves, so that outputs saved any other way
  (Jupyter's Save after a run with another profile, a hand edit) are caught too.

`stale_reasons` recomputes them; `tests/test_saved_outputs.py` fails on any difference.
Python code is compared by `course_utils.provenance.code_digest`: its syntax tree without
comments and docstrings, so editing a comment or a docstring does not make outputs stale,
while any change to what runs does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from course_utils.provenance import code_digest

PROFILE = "ci"
KEY = "saved_outputs"
PACKAGE = "course_utils"
PACKAGE_ROOT = Path("src")   # where course_utils lives, relative to the repository root

# Run in the chapter's kernel after its last cell: the course_utils modules it imported,
# and the reference runs it loaded (name -> SHA-256 of the weights file).
MODULES_PROBE = (
    "import json as _json, sys as _sys\n"
    f"_loaded = getattr(_sys.modules.get({PACKAGE + '.reference_runs'!r}), 'LOADED', {{}})\n"
    f"print(_json.dumps({{'modules': sorted(n for n in _sys.modules if n == {PACKAGE!r} "
    f"or n.startswith({PACKAGE + '.'!r})), 'reference_runs': dict(_loaded)}}))"
)
REFERENCE_ROOT = Path("reference_runs")   # the committed reference runs, relative to the root


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


def make_stamp(nb, modules: list[str], root: Path, reference_runs: dict | None = None) -> dict:
    """The stamp of a notebook just executed, whose kernel had imported ``modules``
    and loaded ``reference_runs`` (name -> SHA-256 of its weights)."""
    stamp = {"profile": PROFILE, "code": cells_digest(nb),
             "modules": {name: code_digest(module_file(name, root).read_text(encoding="utf8")) for name in modules},
             "outputs": outputs_digest(nb)}
    if reference_runs:
        stamp["reference_runs"] = dict(sorted(reference_runs.items()))
    return stamp


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
    for name, digest in sorted(stamp.get("reference_runs", {}).items()):
        manifest = root / REFERENCE_ROOT / f"{name}.json"
        if not manifest.is_file():
            reasons.append(f"reference run {name} no longer exists")
        elif json.loads(manifest.read_text(encoding="utf8")).get("file", {}).get("sha256") != digest:
            reasons.append(f"reference run {name} was retrained")
    return reasons


def make_stale_message(path, reasons: list[str]) -> str:
    return (f"{path}: the saved outputs (the published book) may not be what today's code produces: "
            f"{'; '.join(reasons)}. Regenerate them with: .venv/bin/python scripts/execute_notebooks.py {path}")
