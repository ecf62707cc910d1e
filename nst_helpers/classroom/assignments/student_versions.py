"""Student versions: the source notebooks with every solution region replaced by a
`raise NotImplementedError` line (see nst_helpers.classroom.assignments)."""
from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

RAISE_LINE = 'raise NotImplementedError("exercise: fill in this function")'
SOLUTION_ONLY_TAG = "solution-only"
CHECK_TAG = "check"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
ASSIGNMENT_KEY = "nst_helpers"  # student versions' metadata: {"nst_helpers": {"assignment": "04_gram_matrices"}}

# "# BEGIN SOLUTION" (also "### BEGIN SOLUTION", as nbgrader writes it), alone on its line.
_BEGIN = re.compile(r"^(\s*)#+\s*BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*#+\s*END SOLUTION\s*$")


# --------------------------------------------------------------------------- student versions

def cell_tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _strip_solutions(source: str, where: str) -> str:
    """`source` with every BEGIN/END SOLUTION region replaced by the raise line; ValueError if unbalanced."""
    out: list[str] = []
    begin_line: int | None = None
    for number, line in enumerate(source.split("\n"), start=1):
        begin = _BEGIN.match(line)
        if begin:
            if begin_line is not None:
                raise ValueError(f"{where}: BEGIN SOLUTION on line {number} inside the region "
                                 f"opened on line {begin_line} (nested)")
            begin_line = number
            out.append(begin.group(1) + RAISE_LINE)
        elif _END.match(line):
            if begin_line is None:
                raise ValueError(f"{where}: END SOLUTION on line {number} without a BEGIN SOLUTION")
            begin_line = None
        elif begin_line is None:
            out.append(line)
    if begin_line is not None:
        raise ValueError(f"{where}: BEGIN SOLUTION on line {begin_line} without an END SOLUTION")
    return "\n".join(out)


def _has_markers(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and any(
        _BEGIN.match(line) or _END.match(line) for line in cell.source.split("\n"))


def is_exercise_cell(cell: NotebookNode) -> bool:
    """A code cell with a BEGIN SOLUTION marker: what the student fills in."""
    return cell.cell_type == "code" and any(_BEGIN.match(line) for line in cell.source.split("\n"))


def has_exercises(nb: NotebookNode) -> bool:
    """True when some code cell has a SOLUTION marker or some cell is tagged ``solution-only``."""
    return any(_has_markers(c) or SOLUTION_ONLY_TAG in cell_tags(c) for c in nb.cells)


def make_student_version(nb: NotebookNode, name: str | None = None) -> NotebookNode:
    """A copy of `nb` for students: solution regions replaced by the raise line, no outputs, and
    (when `name`, the source's file stem, is given) metadata naming the assignment, for the grader.

    Also: ``solution-only`` cells dropped, execution counts None, per-cell ``execution`` timing
    metadata and notebook ``metadata.widgets`` (widget state) removed; all else (ids, tags,
    markdown) kept. Unbalanced markers raise ValueError naming the cell index and the line.
    """
    student = copy.deepcopy(nb)
    student.metadata.pop("widgets", None)
    if name is not None:
        student.metadata[ASSIGNMENT_KEY] = {"assignment": name}
    cells = []
    for index, cell in enumerate(student.cells):
        if SOLUTION_ONLY_TAG in cell_tags(cell):
            continue
        if cell.cell_type == "code":
            cell.source = _strip_solutions(cell.source, f"cell {index}")
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cells.append(cell)
    student.cells = cells
    _ensure_ids(student)
    return student


def _ensure_ids(nb: NotebookNode) -> None:
    """nbformat >= 4.5 needs cell ids: give any cell without one an id derived from its position and source."""
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        return
    for index, cell in enumerate(nb.cells):
        if not cell.get("id"):
            cell.id = hashlib.sha1(f"{index}\n{cell.source}".encode()).hexdigest()[:8]


def _render(nb: NotebookNode) -> str:
    """The notebook as written on disk (same text as nbformat.write)."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def _expected(source_dir: str | Path) -> dict[str, str]:
    """File name -> text of the student version, for every source notebook with exercises."""
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise FileNotFoundError(f"{source_dir}: folder not found")
    expected = {}
    for path in sorted(source_dir.glob(NOTEBOOK_GLOB)):
        nb = nbformat.read(path, as_version=4)
        if not has_exercises(nb):
            continue
        try:
            expected[path.name] = _render(make_student_version(nb, path.stem))
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
    return expected


def _existing(out_dir: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(out_dir.glob(NOTEBOOK_GLOB))} if out_dir.is_dir() else {}


def build(source_dir: str | Path = "notebooks", out_dir: str | Path = "assignments") -> list[Path]:
    """Write the student version of each source notebook with exercises to `out_dir`; return their paths.

    Output is byte-identical for identical input (files whose text is unchanged are not rewritten).
    Notebooks named NN_*.ipynb in `out_dir` without a source with exercises are removed.
    Every source is converted before anything is written, so a bad marker leaves `out_dir` as it was.
    """
    out_dir = Path(out_dir)
    expected = _expected(source_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, path in _existing(out_dir).items():
        if name not in expected:
            path.unlink()
    written = []
    for name, text in expected.items():
        path = out_dir / name
        data = text.encode("utf-8")
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
        written.append(path)
    return written


def out_of_date(source_dir: str | Path = "notebooks", out_dir: str | Path = "assignments") -> dict[str, str]:
    """Student notebook name -> "missing", "stale" or "extra", for each one that `build` would change."""
    expected = _expected(source_dir)
    existing = _existing(Path(out_dir))
    problems = {name: "extra" for name in existing if name not in expected}
    for name, text in expected.items():
        if name not in existing:
            problems[name] = "missing"
        elif existing[name].read_bytes() != text.encode("utf-8"):
            problems[name] = "stale"
    return dict(sorted(problems.items()))


def check_up_to_date(source_dir: str | Path = "notebooks", out_dir: str | Path = "assignments") -> list[str]:
    """Names of student notebooks that are missing, stale or extra; an empty list means up to date."""
    return list(out_of_date(source_dir, out_dir))


# --------------------------------------------------------------------------- grading
