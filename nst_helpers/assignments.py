"""Student versions of the notebooks, and grading of what the students hand back.

In a source notebook (``notebooks/NN_name.ipynb``) the solution code sits inside code cells
between two comment lines::

    def gram_matrix(features):
        # BEGIN SOLUTION
        ...
        # END SOLUTION

A student version replaces each such region by one line, at the marker's indentation:
``raise NotImplementedError("exercise: fill in this function")``. Cells tagged ``solution-only``
are left out of the student version altogether. The cell after an exercise calls a check
(``nh.checks.check_gram(...)``) and carries the tag ``check``; grading runs every submitted
notebook and records, for each check cell, whether it ran without an error.

    python -m nst_helpers.assignments build [--source notebooks] [--out assignments]
    python -m nst_helpers.assignments check [--source notebooks] [--out assignments]
    python -m nst_helpers.assignments grade SUBMISSIONS_DIR --out grades.csv [--timeout 120] [--workdir notebooks]

Cell numbers in messages are 0-based positions in the notebook's list of cells (as in nbval).
Exit codes: 0 done, 1 ``check`` found the student notebooks out of date, 2 bad input (one line on stderr).
"""
from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import nbformat
from nbformat import NotebookNode

RAISE_LINE = 'raise NotImplementedError("exercise: fill in this function")'
SOLUTION_ONLY_TAG = "solution-only"
CHECK_TAG = "check"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
REPO_NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

# "# BEGIN SOLUTION" (also "### BEGIN SOLUTION", as nbgrader writes it), alone on its line.
_BEGIN = re.compile(r"^(\s*)#+\s*BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*#+\s*END SOLUTION\s*$")
_CHECK_NAME = re.compile(r"checks\.(check_\w+)")


# --------------------------------------------------------------------------- student versions

def _tags(cell: NotebookNode) -> list[str]:
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


def has_exercises(nb: NotebookNode) -> bool:
    """True when some code cell has a SOLUTION marker or some cell is tagged ``solution-only``."""
    return any(_has_markers(c) or SOLUTION_ONLY_TAG in _tags(c) for c in nb.cells)


def make_student_version(nb: NotebookNode) -> NotebookNode:
    """A copy of `nb` for students: solution regions replaced by the raise line, no outputs.

    Also: ``solution-only`` cells dropped, execution counts None, per-cell ``execution`` timing
    metadata and notebook ``metadata.widgets`` (widget state) removed; all else (ids, tags,
    markdown) kept. Unbalanced markers raise ValueError naming the cell index and the line.
    """
    student = copy.deepcopy(nb)
    student.metadata.pop("widgets", None)
    cells = []
    for index, cell in enumerate(student.cells):
        if SOLUTION_ONLY_TAG in _tags(cell):
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
            expected[path.name] = _render(make_student_version(nb))
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

class GradeRow(NamedTuple):
    """One check of one submission: did the check cell run without an error?"""
    student_file: str
    exercise: str
    passed: bool
    message: str


def check_name(source: str, index: int) -> str:
    """The first ``checks.check_xxx`` named in a check cell's source, else ``cell N``."""
    found = _CHECK_NAME.search(source)
    return found.group(1) if found else f"cell {index}"


def _first_line(text: str, limit: int = 200) -> str:
    lines = text.strip().splitlines()
    return lines[0][:limit] if lines else ""


def _cell_result(cell: NotebookNode) -> tuple[bool, str]:
    """(passed, message) from an executed cell's outputs."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            ename, evalue = out.get("ename", "Error"), _first_line(out.get("evalue", ""))
            if ename == "AssertionError" and evalue:
                return False, evalue
            return False, f"{ename}: {evalue}" if evalue else ename
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            for line in out.get("text", "").splitlines():
                if line.lstrip().startswith("✓"):
                    return True, line.strip()
    return True, ""


def _memory_cap(limit_gb: float | None) -> Callable[[], None] | None:
    """A preexec_fn that caps the kernel's data memory (RLIMIT_DATA), or None where not possible.

    RLIMIT_DATA (Linux >= 4.7 counts heap and private anonymous mappings) rather than RLIMIT_AS:
    an address-space cap also counts reserved, unused mappings (CUDA reserves a lot), while a
    data cap makes large allocations fail as MemoryError / "can't allocate memory" in the cell.
    """
    if not limit_gb or sys.platform != "linux":
        return None
    import resource
    limit = int(limit_gb * 2**30)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    return cap


def _kernel_env(quick: bool) -> dict[str, str]:
    env = dict(os.environ)
    if quick:
        env["NST_QUICK"] = "1"
    else:
        env.pop("NST_QUICK", None)
    return env


def _run_cells(client, nb: NotebookNode, cell_timeout: int) -> tuple[int, str]:
    """Execute the cells in order; (index of the cell that stopped the run, why) or (len(cells), "")."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    for index, cell in enumerate(nb.cells):
        try:
            client.execute_cell(cell, index)
        except CellTimeoutError:
            return index, f"timed out after {cell_timeout} s"
        except DeadKernelError:
            return index, "the kernel died (out of memory?)"
        except Exception as e:  # zmq or protocol trouble: stop this notebook, go on with the next
            return index, f"grading error: {type(e).__name__}: {_first_line(str(e), 120)}"
    return len(nb.cells), ""


def _grade_notebook(nb: NotebookNode, student_file: str, *, workdir: Path, cell_timeout: int, quick: bool,
                    kernel_name: str, memory_limit_gb: float | None) -> list[GradeRow]:
    """Run one notebook in a fresh kernel; one row per check cell (or one "(notebook)" row if none)."""
    from nbclient import NotebookClient

    checks = {i: check_name(c.source, i) for i, c in enumerate(nb.cells)
              if c.cell_type == "code" and CHECK_TAG in _tags(c)}
    if not checks:
        return [GradeRow(student_file, "(notebook)", False, "no cells tagged 'check' (were they deleted?)")]
    client = NotebookClient(nb, timeout=cell_timeout, allow_errors=True, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(workdir)}})
    kwargs: dict = {"env": _kernel_env(quick)}
    preexec = _memory_cap(memory_limit_gb)
    if preexec is not None:
        kwargs["preexec_fn"] = preexec  # jupyter_client passes unknown start_kernel kwargs on to Popen
    stopped_at, reason, started = 0, "", False
    try:
        with client.setup_kernel(**kwargs):
            started = True
            stopped_at, reason = _run_cells(client, nb, cell_timeout)
    except Exception as e:
        if not started:
            reason = f"the kernel did not start: {type(e).__name__}: {_first_line(str(e), 120)}"
        # else: trouble while shutting the kernel down; the results so far stand
    rows = []
    for index, name in checks.items():
        if index < stopped_at:
            rows.append(GradeRow(student_file, name, *_cell_result(nb.cells[index])))
        elif index == stopped_at and started:  # the check cell itself timed out or crashed
            rows.append(GradeRow(student_file, name, False, reason))
        else:
            where = f"cell {stopped_at} " if reason.startswith("timed out") else ""
            rows.append(GradeRow(student_file, name, False, f"not run: {where}{reason}"))
    return rows


def _require_kernel(kernel_name: str) -> None:
    """ValueError when no Jupyter kernel of that name is installed (a grader setup problem, not a student's)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise ValueError(f"no Jupyter kernel named {kernel_name!r} (install ipykernel)") from None


def write_csv(rows: list[GradeRow], out_csv: str | Path) -> None:
    """CSV with header student_file,exercise,passed,message (passed is True/False)."""
    with open(out_csv, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(GradeRow._fields)
        writer.writerows(rows)


def grade(submissions_dir: str | Path, out_csv: str | Path, *, cell_timeout: int = 120, quick: bool = True,
          workdir: str | Path | None = None, kernel_name: str = "python3", memory_limit_gb: float | None = 8.0,
          log: Callable[[str], None] | None = None) -> list[GradeRow]:
    """Run each ``*.ipynb`` in `submissions_dir` (sorted) headless; write and return one row per check.

    Each notebook gets a fresh kernel with cwd `workdir` (default: this repository's notebooks/
    folder, so relative paths like ../data/... work), NST_QUICK=1 when `quick`, at most
    `cell_timeout` seconds per cell, and a data-memory cap of `memory_limit_gb` (Linux only; None:
    no cap). Failing cells do not stop the run; a timeout or a dead kernel stops that notebook and
    its remaining checks are recorded as failed "not run: ...". A notebook that cannot be read
    gives one failed row with exercise "(notebook)". `log` gets one line per notebook.
    """
    if isinstance(cell_timeout, bool) or not isinstance(cell_timeout, int) or cell_timeout <= 0:
        raise ValueError(f"cell timeout must be a positive whole number of seconds, got {cell_timeout!r}")
    if memory_limit_gb is not None and not memory_limit_gb > 0:
        raise ValueError(f"memory limit must be positive (or None for no cap), got {memory_limit_gb!r}")
    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"{submissions_dir}: folder not found")
    workdir = Path(workdir) if workdir is not None else REPO_NOTEBOOKS
    if not workdir.is_dir():
        raise FileNotFoundError(f"{workdir}: working folder not found (pass workdir / --workdir)")
    _require_kernel(kernel_name)
    rows: list[GradeRow] = []
    for path in sorted(submissions_dir.glob("*.ipynb")):
        if log:
            log(f"grading {path.name} ...")
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as e:  # invalid JSON, not a notebook, unreadable bytes
            rows.append(GradeRow(path.name, "(notebook)", False,
                                 f"cannot read the notebook: {type(e).__name__}: {_first_line(str(e), 120)}"))
            continue
        rows += _grade_notebook(nb, path.name, workdir=workdir.resolve(), cell_timeout=cell_timeout, quick=quick,
                                kernel_name=kernel_name, memory_limit_gb=memory_limit_gb)
    write_csv(rows, out_csv)
    return rows


def summary(rows: list[GradeRow]) -> str:
    """A small table: one line per student file with checks passed / total and the first failure."""
    per_file: dict[str, list[GradeRow]] = {}
    for row in rows:
        per_file.setdefault(row.student_file, []).append(row)
    width = max([len("student_file")] + [len(name) for name in per_file])
    lines = [f"{'student_file':<{width}}  passed  first failure"]
    for name, file_rows in per_file.items():
        passed = sum(r.passed for r in file_rows)
        failed = next((f"{r.exercise}: {r.message}" for r in file_rows if not r.passed), "")
        lines.append(f"{name:<{width}}  {f'{passed}/{len(file_rows)}':>6}  {failed[:70]}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nst_helpers.assignments",
                                description="Student versions of the notebooks, and grading of submissions.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, text in (("build", "write the student notebooks"),
                       ("check", "exit 1 if the student notebooks are not up to date")):
        s = sub.add_parser(name, help=text)
        s.add_argument("--source", default="notebooks", help="folder of source notebooks (default notebooks)")
        s.add_argument("--out", default="assignments", help="folder of student notebooks (default assignments)")
    g = sub.add_parser("grade", help="run submitted notebooks and write a CSV of check results")
    g.add_argument("submissions", help="folder with the submitted *.ipynb files")
    g.add_argument("--out", required=True, help="CSV file to write")
    g.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")
    g.add_argument("--workdir", default=None, help="folder the notebooks run in (default: the repo's notebooks/)")
    g.add_argument("--full", action="store_true", help="full mode (default: quick mode, NST_QUICK=1)")
    g.add_argument("--memory-limit-gb", type=float, default=8.0, help="kernel data-memory cap, 0 = none (default 8)")
    return p


def _fail(message: str) -> int:
    print(f"assignments: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "build":
            paths = build(args.source, args.out)
            print(f"wrote {len(paths)} student notebook(s) to {args.out}")
        elif args.command == "check":
            problems = out_of_date(args.source, args.out)
            if problems:
                print(f"student notebooks in {args.out} are not up to date "
                      f"(run: python -m nst_helpers.assignments build):")
                for name, what in problems.items():
                    print(f"  {name} ({what})")
                return 1
            print(f"student notebooks in {args.out} are up to date")
        else:
            out = Path(args.out)
            if not out.parent.is_dir():
                return _fail(f"{out}: folder {out.parent} does not exist")
            cap = None if args.memory_limit_gb == 0 else args.memory_limit_gb
            rows = grade(args.submissions, out, cell_timeout=args.timeout, quick=not args.full,
                         workdir=args.workdir, memory_limit_gb=cap,
                         log=lambda line: print(line, file=sys.stderr))
            print(summary(rows))
            print(f"wrote {out} ({len(rows)} rows)")
    except (OSError, ValueError) as e:
        return _fail(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
