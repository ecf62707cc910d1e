"""Grading: run each submitted notebook headless and record, per check cell, whether it ran
without an error (see nst_helpers.classroom.assignments)."""
from __future__ import annotations

import csv
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import nbformat
from nbformat import NotebookNode

from .student_versions import CHECK_TAG, cell_tags

REPO_NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"

_CHECK_NAME = re.compile(r"checks\.(check_\w+)")


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


def cell_result(cell: NotebookNode) -> tuple[bool, str]:
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
              if c.cell_type == "code" and CHECK_TAG in cell_tags(c)}
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
            rows.append(GradeRow(student_file, name, *cell_result(nb.cells[index])))
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
