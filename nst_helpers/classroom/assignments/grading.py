"""Grading: only the answer is the student's, and the student's code never runs where the judging does.

For each submission, the grader takes the teacher's source notebook and replaces only its
exercise cells (matched by cell id) with the student's versions. It runs the notebook's first
code cell (and cells tagged ``grading-setup``), then the student's exercise cells, in a sandbox
(sandbox.py). Each check then runs in the grader's own process against a stand-in for the
student's function (session.SandboxedFunction): calls go into the sandbox, plain data comes
back, and the check judges that data. Changed, deleted or reordered check cells are reported
as tampering; the exercise is still graded, with the teacher's check.

One CSV row per exercise and submission, always (see ROW_FIELDS and STATUSES).
"""
from __future__ import annotations

import contextlib
import io
import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .. import checks
from . import sandbox
from .session import Limits, Malformed, SandboxedFunction, Session, Stopped
from .exercises import answer_cell, exercises, tampering
from .results import Row, write_csv
from .student_versions import ASSIGNMENT_KEY, NOTEBOOK_GLOB, cell_tags

REPO_NOTEBOOKS = sandbox.CHECKOUT / "notebooks"
SETUP_TAG = "grading-setup"


# --------------------------------------------------------------------------- one submission

def _judge(check: Callable, fn: SandboxedFunction, draw: bool) -> tuple[str, str, bytes | None]:
    """(status, message, PNG of what the check drew or None) of one check run against the sandboxed
    function, in this process. draw: let the check draw its figure (show=True)."""
    printed = io.StringIO()
    if draw:
        import matplotlib.pyplot as plt
        before = set(plt.get_fignums())
    png = None
    try:
        with contextlib.redirect_stdout(printed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check(fn, show=draw)
    except AssertionError as failure:
        return "failed", str(failure).strip().splitlines()[0][:500] if str(failure).strip() else "failed", None
    except Exception as error:  # the sandbox's data made the judgement (or the drawing after it) fail
        if "✓" not in printed.getvalue():
            return "failed", f"could not judge the result: {type(error).__name__}: {str(error)[:200]}", None
    finally:
        if draw:
            new = [n for n in plt.get_fignums() if n not in before]
            if new and "✓" in printed.getvalue():
                buffer = io.BytesIO()
                plt.figure(new[0]).savefig(buffer, format="png", dpi=80)
                png = buffer.getvalue()
            for number in new:
                plt.close(number)
    ticks = [line.strip() for line in printed.getvalue().splitlines() if line.strip().startswith("✓")]
    return "passed", ticks[0] if ticks else "passed", png


def grade_submission(submission: NotebookNode, source: NotebookNode, *, student: str, notebook: str,
                     sandboxed: bool, workdir: Path, hide: list[Path], quick: bool, limits: Limits,
                     figures: dict[tuple[str, str, str], bytes] | None = None) -> list[Row]:
    """One row per exercise of `source` for one student's `submission` (see the module docstring).
    figures: when given, gets (student, notebook, exercise) -> PNG of what each passing check drew."""
    mode = "[sandbox]" if sandboxed else "[no sandbox]"
    todo = exercises(source)
    withheld = sorted({spec for e in todo for spec in checks.WITHHELD.get(e.check, ())})
    setup = [(i, c.source) for i, c in enumerate(source.cells) if c.cell_type == "code"
             and (i == next(j for j, d in enumerate(source.cells) if d.cell_type == "code") or SETUP_TAG in cell_tags(c))]
    answers = {e.cell_id: answer_cell(submission, e) for e in todo}
    results: dict[str, tuple[str, str]] = {}
    deadline = time.monotonic() + limits.notebook_s
    skip: set[str] = set()  # answer cells that stopped a sandbox: left out when it is started again
    pending = [e for e in todo if answers[e.cell_id] is not None]
    while pending:
        session, cell_errors, stopped_by = None, {}, None
        try:
            session = Session(sandboxed=sandboxed, workdir=workdir, hide=hide, withheld=withheld, quick=quick,
                              limits=limits, deadline=deadline)
            for index, code in setup:
                session.run_cell(index, code)  # a setup error shows up in the checks' messages
            for e in pending:
                if e.cell_id not in skip and e.cell_id not in cell_errors:
                    stopped_by = e
                    cell_errors[e.cell_id] = session.run_cell(todo.index(e), answers[e.cell_id].source)
            stopped_by = None
            while pending:
                e = pending[0]
                stopped_by = e
                if e.cell_id in skip:
                    results[e.check_cell_id] = ("error", "not graded: its cell stopped the sandbox")
                elif cell_errors.get(e.cell_id):
                    results[e.check_cell_id] = ("failed", f"your cell raised {cell_errors[e.cell_id]}")
                else:
                    status, message, png = _judge(getattr(checks, e.check), SandboxedFunction(session, e.target),
                                                  draw=figures is not None)
                    results[e.check_cell_id] = (status, message)
                    if png is not None and figures is not None:
                        figures[student, notebook, e.target] = png
                pending.pop(0)
        except Stopped as stop:
            if stopped_by is None:  # the sandbox did not start or the setup stopped it: nothing can run
                for e in pending:
                    results[e.check_cell_id] = (stop.status, f"setup: {stop.message}")
                pending = []
            else:
                results[stopped_by.check_cell_id] = (stop.status, stop.message)
                skip.add(stopped_by.cell_id)
                pending = [e for e in pending if e is not stopped_by]
        except Malformed as error:
            results[pending[0].check_cell_id] = ("failed", f"the sandbox answered with {error}")
            pending.pop(0)
        except sandbox.NoSandbox as error:
            for e in pending:
                results[e.check_cell_id] = ("error", f"no sandbox: {error}")
            pending = []
        finally:
            if session is not None:
                session.close()
    rows = []
    for e in todo:
        status, message = results.get(e.check_cell_id, ("missing", f"no cell defines {e.target}: was it deleted?"))
        points = e.points if status == "passed" else 0.0
        tampered = tampering(source, submission, e)
        if tampered:
            status, message = "tampered", f"{tampered} (graded with the teacher's check): {message}"
        rows.append(Row(student, notebook, e.target, points, e.points, status, f"{message} {mode}"))
    return rows


# --------------------------------------------------------------------------- a folder of submissions

def _sources(source_dir: Path) -> dict[str, NotebookNode]:
    found = {}
    for path in sorted(source_dir.glob(NOTEBOOK_GLOB)):
        nb = nbformat.read(path, as_version=4)
        if exercises(nb, f"{path}: "):
            found[path.stem] = nb
    return found


def _which_notebook(nb: NotebookNode, path: Path, sources: dict[str, NotebookNode], assignment: str | None) -> str:
    """The source notebook a submission answers: --assignment, else its metadata, else its file name."""
    if assignment:
        return assignment
    meta = nb.metadata.get(ASSIGNMENT_KEY, {})
    if isinstance(meta, dict) and meta.get("assignment") in sources:
        return meta["assignment"]
    for stem in sources:
        if stem in path.name or re.search(rf"(^|[^0-9]){stem[:2]}([^0-9]|$)", path.stem):
            return stem
    raise ValueError("cannot tell which notebook it answers (no metadata, no NN_ in the file name): "
                     "pass --assignment NN")


def _student_name(path: Path, submissions_dir: Path, notebook: str) -> str:
    if path.parent != submissions_dir:  # submissions/alice/04_gram_matrices.ipynb
        return path.parent.name
    name = path.stem.replace(notebook, "")
    name = re.sub(rf"(^|[ _.-]){notebook[:2]}(?=$|[ _.-])", "", name).strip(" _-.")
    return name or path.parent.name


def grade(submissions_dir: str | Path, out_csv: str | Path, *, source_dir: str | Path | None = None,
          assignment: str | None = None, sandboxed: bool = True, quick: bool = True,
          limits: Limits = Limits(), feedback_dir: str | Path | None = None,
          log: Callable[[str], None] | None = None) -> list[Row]:
    """Grade every ``*.ipynb`` in `submissions_dir` (or in its subfolders, one per student) against the
    teacher's notebooks in `source_dir` (default: this checkout's notebooks/); write and return the rows.

    assignment: "04" or "04_gram_matrices" for all submissions (default: from each one's metadata or
    file name). sandboxed=False runs without isolation (each row says so); with it, a missing
    sandbox is a ValueError before anything runs. Files that are not notebooks, duplicates and
    unreadable notebooks get a line on `log` or an "error" row; the others are graded on.
    feedback_dir: where to write each submission's feedback (<student>_<notebook>.md, with the
    checks' figures) and the class summary (summary.md, summary.png); None: none.
    """
    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"{submissions_dir}: folder not found")
    source_dir = Path(source_dir) if source_dir is not None else REPO_NOTEBOOKS
    if not source_dir.is_dir():
        raise FileNotFoundError(f"{source_dir}: folder of source notebooks not found (pass --source)")
    if sandboxed and sandbox.availability():
        raise ValueError(f"no sandbox: {sandbox.availability()}; install it or pass --no-sandbox "
                         "(then the submissions run unisolated, as you)")
    sources = _sources(source_dir)
    if assignment is not None:
        matches = [stem for stem in sources if stem == assignment or stem[:2] == assignment]
        if len(matches) != 1:
            raise ValueError(f"--assignment {assignment}: no source notebook with exercises matches "
                             f"(have: {', '.join(sources)})")
        assignment = matches[0]
    say = log or (lambda line: None)
    out_csv = Path(out_csv)
    hide = [submissions_dir, out_csv.resolve().parent] + ([Path(feedback_dir).resolve()] if feedback_dir else [])
    rows: list[Row] = []
    figures: dict[tuple[str, str, str], bytes] = {}
    seen: dict[tuple[str, str], Path] = {}
    paths = sorted(p for p in submissions_dir.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    for path in paths:
        relative = path.relative_to(submissions_dir)
        if path.suffix != ".ipynb":
            say(f"skipping {relative}: not a notebook (.ipynb)")
            continue
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as error:  # not JSON, not a notebook, unreadable bytes
            rows.append(Row(path.stem, "?", "(notebook)", 0.0, 0.0, "error",
                            f"{relative}: cannot read the notebook: {type(error).__name__}: {str(error)[:120]}"))
            continue
        try:
            notebook = _which_notebook(nb, path, sources, assignment)
        except ValueError as error:
            rows.append(Row(path.stem, "?", "(notebook)", 0.0, 0.0, "error", f"{relative}: {error}"))
            continue
        student = _student_name(path, submissions_dir, notebook)
        meta = nb.metadata.get(ASSIGNMENT_KEY, {})
        if isinstance(meta, dict) and meta.get("assignment") not in (None, notebook):
            rows.append(Row(student, notebook, "(notebook)", 0.0, 0.0, "error",
                            f"{relative}: this is {meta.get('assignment')}, not {notebook}"))
            continue
        if (student, notebook) in seen:
            rows.append(Row(student, notebook, "(notebook)", 0.0, 0.0, "error",
                            f"{relative}: a second submission of {notebook} by {student} "
                            f"(graded: {seen[student, notebook].relative_to(submissions_dir)})"))
            continue
        seen[student, notebook] = path
        say(f"grading {relative} ({student}, {notebook}) ...")
        rows += grade_submission(nb, sources[notebook], student=student, notebook=notebook, sandboxed=sandboxed,
                                 workdir=source_dir.resolve(), hide=hide, quick=quick, limits=limits,
                                 figures=figures if feedback_dir is not None else None)
    write_csv(rows, out_csv)
    if feedback_dir is not None:
        from .feedback import class_summary, summary_chart, summary_markdown, write_feedback

        folder = Path(feedback_dir)
        write_feedback([r for r in rows if r.exercise != "(notebook)"], folder, figures)
        table = class_summary(rows)
        (folder / "summary.md").write_text(summary_markdown(table), encoding="utf-8")
        if table:
            summary_chart(table, folder / "summary.png")
    return rows


def summary(rows: list[Row]) -> str:
    """A small table: one line per student and notebook with points and the first problem."""
    per: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        per.setdefault((row.student, row.notebook), []).append(row)
    width = max([len("student")] + [len(student) for student, _ in per])
    lines = [f"{'student':<{width}}  {'notebook':<26}  points  first problem"]
    for (student, notebook), found in per.items():
        points = f"{sum(r.points for r in found):g}/{sum(r.max_points for r in found):g}"
        problem = next((f"{r.exercise}: {r.status}: {r.message}" for r in found if r.status != "passed"), "")
        lines.append(f"{student:<{width}}  {notebook:<26}  {points:>6}  {problem[:70]}")
    return "\n".join(lines)
