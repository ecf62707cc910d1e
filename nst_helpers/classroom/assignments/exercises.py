"""What a teacher's notebook asks (its exercises) and what a student's notebook did with it: the
answer cell that replaces the teacher's, and whether the check cell was changed, deleted or moved."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from nbformat import NotebookNode

from .. import checks
from .student_versions import CHECK_TAG, cell_tags, is_exercise_cell


@dataclass(frozen=True)
class Exercise:
    """An exercise of a source notebook: the cell the student fills in, the check cell after it,
    the check's name (in nst_helpers.classroom.checks) and the function it is called on."""
    cell_id: str
    check_cell_id: str
    check: str
    target: str
    points: float


def _check_call(source: str) -> tuple[str, str] | None:
    """(check name, name of its first argument) of the first `...check_xxx(name, ...)` call in a cell."""
    try:
        tree = ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")))
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name.startswith("check_"):
                return name, node.args[0].id
    return None


def exercises(source: NotebookNode, where: str = "") -> list[Exercise]:
    """The exercises of a teacher's source notebook, in order. ValueError for a check cell that
    names no known check, or has no exercise cell before it."""
    found = []
    for index, cell in enumerate(source.cells):
        if cell.cell_type != "code" or CHECK_TAG not in cell_tags(cell):
            continue
        call = _check_call(cell.source)
        if call is None or not hasattr(checks, call[0]):
            raise ValueError(f"{where}cell {index}: a check cell that calls no nh.checks.check_* on a function")
        before = [c for c in source.cells[:index] if is_exercise_cell(c)]
        if not before:
            raise ValueError(f"{where}cell {index}: a check cell with no exercise cell before it")
        found.append(Exercise(before[-1].id, cell.id, call[0], call[1], checks.POINTS[call[0]]))
    return found


# --------------------------------------------------------------------------- what the student changed

def _defines(cell: NotebookNode, name: str) -> bool:
    return cell.cell_type == "code" and re.search(rf"^\s*def\s+{re.escape(name)}\s*\(", cell.source, re.M) is not None


def answer_cell(submission: NotebookNode, exercise: Exercise) -> NotebookNode | None:
    """The student's version of the exercise cell: the cell with its id, else (ids lost, e.g. the cell was
    deleted and written anew) the first code cell that defines the exercise's function; None if neither."""
    by_id = next((c for c in submission.cells if c.get("id") == exercise.cell_id and c.cell_type == "code"), None)
    return by_id or next((c for c in submission.cells if _defines(c, exercise.target)), None)


def tampering(source: NotebookNode, submission: NotebookNode, exercise: Exercise) -> str:
    """'' or what happened to the exercise's check cell: changed, deleted, moved."""
    cell = next((c for c in submission.cells if c.get("id") == exercise.check_cell_id), None)
    if cell is None:
        return "the check cell was deleted"
    original = next(c for c in source.cells if c.id == exercise.check_cell_id)
    if cell.source.strip() != original.source.strip() or CHECK_TAG not in cell_tags(cell):
        return "the check cell was changed"
    ids = [c.get("id") for c in submission.cells]
    answer = answer_cell(submission, exercise)
    if answer is not None and answer.get("id") in ids and ids.index(answer.get("id")) > ids.index(cell.id):
        return "the check cell was moved above the exercise"
    return ""
