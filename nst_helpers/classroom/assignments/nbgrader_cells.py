"""nbgrader's cell metadata in the source notebooks, so that a course already running nbgrader
(and JupyterHub's formgrader) can use them as they are.

Each exercise cell is an nbgrader solution cell (its `# BEGIN SOLUTION` / `# END SOLUTION`
markers are nbgrader's own) and each check cell a graded, locked test cell worth the check's
points in `nh.checks.POINTS`, the same points this package's grader gives. With nbgrader's
`ClearSolutions.code_stub` set to CODE_STUB, `nbgrader generate_assignment` makes the same
student version as `nst-classroom build`.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .exercises import exercises
from .student_versions import NOTEBOOK_GLOB, RAISE_LINE, has_exercises

SCHEMA_VERSION = 3
CODE_STUB = {"python": RAISE_LINE}
#: nbgrader_config.py lines that make nbgrader's student versions match ours.
CONFIG = f"c.ClearSolutions.code_stub = {CODE_STUB!r}\n"


def expected_metadata(nb: NotebookNode) -> dict[str, dict]:
    """cell id -> the "nbgrader" metadata that cell should carry (solution and graded check cells)."""
    wanted = {}
    for exercise in exercises(nb):
        wanted[exercise.cell_id] = {"grade": False, "grade_id": exercise.target, "locked": False,
                                    "schema_version": SCHEMA_VERSION, "solution": True, "task": False}
        wanted[exercise.check_cell_id] = {"grade": True, "grade_id": f"check_{exercise.target}", "locked": True,
                                          "points": exercise.points, "schema_version": SCHEMA_VERSION,
                                          "solution": False, "task": False}
    return wanted


def mark(nb: NotebookNode) -> bool:
    """Write the expected nbgrader metadata into `nb`'s cells (and remove it from other cells);
    True when something changed."""
    wanted = expected_metadata(nb)
    changed = False
    for cell in nb.cells:
        target = wanted.get(cell.get("id"))
        if cell.metadata.get("nbgrader") != target:
            changed = True
            if target is None:
                del cell.metadata["nbgrader"]
            else:
                cell.metadata["nbgrader"] = target
    return changed


def unmarked(nb: NotebookNode) -> list[str]:
    """Ids of the cells whose nbgrader metadata differs from what `mark` would write."""
    wanted = expected_metadata(nb)
    return [cell.get("id") for cell in nb.cells if cell.metadata.get("nbgrader") != wanted.get(cell.get("id"))]


def _notebooks(source_dir: str | Path) -> list[Path]:
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise FileNotFoundError(f"{source_dir}: folder not found")
    return sorted(source_dir.glob(NOTEBOOK_GLOB))


def mark_folder(source_dir: str | Path = "notebooks") -> list[Path]:
    """Mark every source notebook with exercises in `source_dir` (see `mark`); returns those rewritten."""
    written = []
    for path in _notebooks(source_dir):
        nb = nbformat.read(path, as_version=4)
        if has_exercises(nb) and mark(nb):
            nbformat.write(nb, path)
            written.append(path)
    return written


def unmarked_notebooks(source_dir: str | Path = "notebooks") -> list[str]:
    """Names of the source notebooks whose nbgrader metadata `mark_folder` would change."""
    return [path.name for path in _notebooks(source_dir)
            if has_exercises(nb := nbformat.read(path, as_version=4)) and unmarked(nb)]
