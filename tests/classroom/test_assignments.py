"""Student versions (make_student_version, build, check_up_to_date), grading, and the CLI.

Everything runs on tiny notebooks made here with nbformat; the grading test starts a few
real kernels (about 10-15 s in all).
"""
import csv
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nst_helpers.classroom import assignments as asg

RAISE = 'raise NotImplementedError("exercise: fill in this function")'

SOLVED_CELL = '''def gram(x):
    """Gram matrix."""
    n = len(x)
    # BEGIN SOLUTION
    g = [[a * b for b in x] for a in x]
    if n:
        g = [row for row in g]
    # END SOLUTION
    return g'''


def exercise_notebook(extra_source: str = "") -> nbformat.NotebookNode:
    """A source notebook: markdown, one exercise cell (executed, with output), one check cell."""
    exercise = new_code_cell(SOLVED_CELL + extra_source, execution_count=3,
                             outputs=[new_output("stream", name="stdout", text="hi\n")])
    exercise.metadata["execution"] = {"iopub.execute_input": "2024-01-01T00:00:00Z"}
    check = new_code_cell("nh.checks.check_gram(gram)", execution_count=4, metadata={"tags": ["check"]},
                          outputs=[new_output("stream", name="stdout", text="✓ gram ok\n")])
    intro = new_markdown_cell("# Title\n\n    # BEGIN SOLUTION\n\n(a marker in markdown is left alone)")
    nb = new_notebook(cells=[intro, exercise, check])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


# --------------------------------------------------------------------------- make_student_version

def test_student_version_replaces_region_at_marker_indentation_and_clears_outputs():
    nb = exercise_notebook()
    student = asg.make_student_version(nb)
    assert student.cells[1].source.split("\n") == [
        "def gram(x):", '    """Gram matrix."""', "    n = len(x)", "    " + RAISE, "    return g"]
    assert student.cells[0].source == nb.cells[0].source  # markdown untouched
    assert student.cells[2].source == "nh.checks.check_gram(gram)"
    assert student.cells[2].metadata["tags"] == ["check"]
    for cell in student.cells[1:]:
        assert cell.outputs == [] and cell.execution_count is None
        assert "execution" not in cell.metadata
    assert [c.id for c in student.cells] == [c.id for c in nb.cells]
    assert "widgets" not in student.metadata and student.metadata["kernelspec"]["name"] == "python3"
    # the input is not modified
    assert "BEGIN SOLUTION" in nb.cells[1].source and nb.cells[1].outputs and "widgets" in nb.metadata


def test_student_version_whole_cell_region_several_regions_and_solution_only_cells():
    top = new_code_cell("# BEGIN SOLUTION\nx = 1\n# END SOLUTION")
    two = new_code_cell("a = 0\nif a:\n        ### BEGIN SOLUTION\n        a = 1\n        ### END SOLUTION\n"
                        "b = 2\n# BEGIN SOLUTION\nb = 3\n# END SOLUTION\nprint(a, b)\n")
    hidden = new_code_cell("answer = 42", metadata={"tags": ["solution-only"]})
    student = asg.make_student_version(new_notebook(cells=[top, hidden, two]))
    assert [c.source for c in student.cells] == [
        RAISE, f"a = 0\nif a:\n        {RAISE}\nb = 2\n{RAISE}\nprint(a, b)\n"]


@pytest.mark.parametrize("source, problem", [
    ("x = 1\n# BEGIN SOLUTION\nx = 2", "BEGIN SOLUTION on line 2 without an END SOLUTION"),
    ("# BEGIN SOLUTION\nx = 2\n  # BEGIN SOLUTION\n# END SOLUTION", "line 3 inside the region opened on line 1"),
    ("x = 1\n# END SOLUTION", "END SOLUTION on line 2 without a BEGIN SOLUTION"),
])
def test_unbalanced_markers_raise_value_error_naming_the_cell(source, problem):
    nb = new_notebook(cells=[new_markdown_cell("intro"), new_code_cell("ok = 1"), new_code_cell(source)])
    with pytest.raises(ValueError) as info:
        asg.make_student_version(nb)
    assert str(info.value).startswith("cell 2: ")
    assert problem in str(info.value)


# --------------------------------------------------------------------------- build / check_up_to_date

@pytest.fixture
def source_dir(tmp_path):
    src = tmp_path / "notebooks"
    src.mkdir()
    nbformat.write(exercise_notebook(), src / "01_first.ipynb")
    nbformat.write(exercise_notebook("\n# BEGIN SOLUTION\nextra = 1\n# END SOLUTION"), src / "02_second.ipynb")
    nbformat.write(new_notebook(cells=[new_code_cell("print('no exercise here')")]), src / "03_plain.ipynb")
    nbformat.write(exercise_notebook(), src / "scratch.ipynb")  # not NN_*.ipynb: ignored
    return src


def test_build_writes_only_notebooks_with_solutions_and_is_deterministic(source_dir, tmp_path):
    out = tmp_path / "assignments"
    paths = asg.build(source_dir, out)
    assert [p.name for p in paths] == ["01_first.ipynb", "02_second.ipynb"]
    assert sorted(p.name for p in out.iterdir()) == ["01_first.ipynb", "02_second.ipynb"]
    first = {p.name: p.read_bytes() for p in paths}
    written = nbformat.read(out / "02_second.ipynb", as_version=4)
    assert written.cells[1].source.count(RAISE) == 2
    assert not any("SOLUTION" in c.source for c in written.cells if c.cell_type == "code")
    assert written.cells[0].source.count("BEGIN SOLUTION") == 1  # markdown keeps its text
    assert [c.id for c in written.cells] == [c.id for c in nbformat.read(source_dir / "02_second.ipynb", 4).cells]

    (out / "01_first.ipynb").unlink()
    asg.build(source_dir, out)
    again = asg.build(source_dir, tmp_path / "elsewhere")
    assert {p.name: p.read_bytes() for p in paths} == first
    assert {p.name: p.read_bytes() for p in again} == first


def test_build_removes_stale_notebooks_and_keeps_other_files(source_dir, tmp_path):
    out = tmp_path / "assignments"
    asg.build(source_dir, out)
    (out / "README.md").write_text("for students")
    (source_dir / "02_second.ipynb").unlink()
    paths = asg.build(source_dir, out)
    assert [p.name for p in paths] == ["01_first.ipynb"]
    assert sorted(p.name for p in out.iterdir()) == ["01_first.ipynb", "README.md"]


def test_build_with_bad_markers_names_the_file_and_writes_nothing(source_dir, tmp_path):
    nbformat.write(new_notebook(cells=[new_code_cell("# BEGIN SOLUTION\nx = 1")]), source_dir / "04_bad.ipynb")
    out = tmp_path / "assignments"
    with pytest.raises(ValueError, match=r"04_bad\.ipynb: cell 0: BEGIN SOLUTION on line 1 without"):
        asg.build(source_dir, out)
    assert not out.exists() or not list(out.iterdir())


def test_check_up_to_date_reports_missing_stale_and_extra(source_dir, tmp_path):
    out = tmp_path / "assignments"
    assert asg.check_up_to_date(source_dir, out) == ["01_first.ipynb", "02_second.ipynb"]
    asg.build(source_dir, out)
    assert asg.check_up_to_date(source_dir, out) == []

    nb = nbformat.read(source_dir / "01_first.ipynb", as_version=4)
    nb.cells[0].source += "\nA new sentence."
    nbformat.write(nb, source_dir / "01_first.ipynb")
    (out / "99_old.ipynb").write_bytes((out / "02_second.ipynb").read_bytes())
    (out / "02_second.ipynb").unlink()
    assert asg.out_of_date(source_dir, out) == {
        "01_first.ipynb": "stale", "02_second.ipynb": "missing", "99_old.ipynb": "extra"}
    assert asg.check_up_to_date(source_dir, out) == ["01_first.ipynb", "02_second.ipynb", "99_old.ipynb"]

    # re-running the source notebook (new outputs, counts) does not make the student version stale
    asg.build(source_dir, out)
    nb = nbformat.read(source_dir / "02_second.ipynb", as_version=4)
    nb.cells[1].outputs = [new_output("stream", name="stdout", text="other\n")]
    nb.cells[1].execution_count = 17
    nbformat.write(nb, source_dir / "02_second.ipynb")
    assert asg.check_up_to_date(source_dir, out) == []


# --------------------------------------------------------------------------- grading

def submission(body: str, square_check: str = "assert square(3) == 9, 'square is wrong: square(3) should be 9'"):
    """A tiny student notebook: a definition cell, two check cells, a cell in between."""
    nb = new_notebook(cells=[
        new_markdown_cell("# Exercises"),
        new_code_cell(body),
        new_code_cell(f"# checks.check_square\n{square_check}\nprint('✓ square works')",
                      metadata={"tags": ["check"]}),
        new_code_cell("import os\nhere = os.path.basename(os.getcwd())\nquick = os.environ.get('NST_QUICK')"),
        new_code_cell("assert (here, quick) == ('workdir', '1'), f'ran in {here} with NST_QUICK={quick}'\n"
                      "print('✓ ran in the workdir, quick')", metadata={"tags": ["check"]}),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_grade_correct_wrong_looping_crashing_and_unreadable_submissions(tmp_path):
    subs, workdir = tmp_path / "submissions", tmp_path / "workdir"
    subs.mkdir()
    workdir.mkdir()
    nbformat.write(submission("def square(x):\n    return x * x"), subs / "a_correct.ipynb")
    nbformat.write(submission("def square(x):\n    return x + x"), subs / "b_wrong.ipynb")
    nbformat.write(submission("def square(x):\n    return x * x\nwhile True:\n    pass"), subs / "c_loops.ipynb")
    nbformat.write(submission("big = bytearray(3 * 2**30)", square_check="import os; os._exit(1)"),
                   subs / "d_crashes.ipynb")
    (subs / "e_broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    (subs / "notes.txt").write_text("not a notebook")
    out_csv = tmp_path / "grades.csv"

    rows = asg.grade(subs, out_csv, cell_timeout=3, workdir=workdir, memory_limit_gb=1)

    with open(out_csv, newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0] == ["student_file", "exercise", "passed", "message"]
    assert table[1:] == [[r.student_file, r.exercise, str(r.passed), r.message] for r in rows]
    expected = [
        ("a_correct.ipynb", "check_square", True, "✓ square works"),
        ("a_correct.ipynb", "cell 4", True, "✓ ran in the workdir, quick"),
        ("b_wrong.ipynb", "check_square", False, "square is wrong: square(3) should be 9"),
        ("b_wrong.ipynb", "cell 4", True, "✓ ran in the workdir, quick"),
        ("c_loops.ipynb", "check_square", False, "not run: cell 1 timed out after 3 s"),
        ("c_loops.ipynb", "cell 4", False, "not run: cell 1 timed out after 3 s"),
        # the 3 GiB allocation fails under the 1 GiB cap (cell 1 errors, not a check), then the
        # check cell kills the kernel: it fails with the reason, the later check is "not run"
        ("d_crashes.ipynb", "check_square", False, "the kernel died (out of memory?)"),
        ("d_crashes.ipynb", "cell 4", False, "not run: the kernel died (out of memory?)"),
        ("e_broken.ipynb", "(notebook)", False, "cannot read the notebook: "),
    ]
    assert [(r.student_file, r.exercise, r.passed) for r in rows] == [e[:3] for e in expected]
    for row, (*_, message) in zip(rows, expected):
        assert row.message.startswith(message), row
    assert "Notebook does not appear to be JSON" in rows[-1].message


def test_grade_memory_cap_turns_a_huge_allocation_into_a_failed_check(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_QUICK", "1")  # quick=False must not pass the grader's own setting on
    subs = tmp_path / "subs"
    subs.mkdir()
    nb = submission("def square(x):\n    return x * x")
    nb.cells[2].source = "# checks.check_memory\nbig = bytearray(3 * 2**30)\nprint('✓ allocated')"
    nbformat.write(nb, subs / "hog.ipynb")
    rows = asg.grade(subs, tmp_path / "g.csv", cell_timeout=30, workdir=tmp_path, memory_limit_gb=1, quick=False)
    assert rows[0] == asg.GradeRow("hog.ipynb", "check_memory", False, "MemoryError")
    assert rows[1].message == f"ran in {tmp_path.name} with NST_QUICK=None"  # quick=False: no NST_QUICK
    assert not rows[1].passed


def test_grade_notebook_without_check_cells_gets_one_failed_row(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), subs / "nochecks.ipynb")
    rows = asg.grade(subs, tmp_path / "g.csv", workdir=tmp_path)
    assert rows == [asg.GradeRow("nochecks.ipynb", "(notebook)", False, "no cells tagged 'check' (were they deleted?)")]


def test_grade_kernel_that_cannot_start_fails_every_check_and_goes_on(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(submission("def square(x):\n    return x * x"), subs / "a.ipynb")
    nbformat.write(submission("def square(x):\n    return x * x"), subs / "b.ipynb")
    rows = asg.grade(subs, tmp_path / "g.csv", workdir=tmp_path, memory_limit_gb=0.03)  # 30 MB: too little
    assert [(r.student_file, r.exercise, r.passed) for r in rows] == [
        ("a.ipynb", "check_square", False), ("a.ipynb", "cell 4", False),
        ("b.ipynb", "check_square", False), ("b.ipynb", "cell 4", False)]
    assert all(r.message.startswith("not run: the kernel did not start: ") for r in rows)


def test_check_name_and_cell_result():
    assert asg.check_name("x = 1\nnh.checks.check_gram(gram, show=True)\nchecks.check_style(f)", 5) == "check_gram"
    assert asg.check_name("check_gram(gram)", 5) == "cell 5"
    err = new_code_cell("x", outputs=[
        new_output("error", ename="AssertionError", evalue="Wrong.\nMore.", traceback=[])])
    assert asg.cell_result(err) == (False, "Wrong.")
    err.outputs[0].update(ename="NotImplementedError", evalue="exercise: fill in this function")
    assert asg.cell_result(err) == (False, "NotImplementedError: exercise: fill in this function")
    err.outputs[0].update(ename="AssertionError", evalue="")
    assert asg.cell_result(err) == (False, "AssertionError")


# --------------------------------------------------------------------------- command line

def test_cli_build_then_check_exit_codes(source_dir, tmp_path, capsys):
    out = str(tmp_path / "assignments")
    assert asg.main(["check", "--source", str(source_dir), "--out", out]) == 1
    text = capsys.readouterr().out
    assert "01_first.ipynb (missing)" in text and "02_second.ipynb (missing)" in text
    assert asg.main(["build", "--source", str(source_dir), "--out", out]) == 0
    assert "wrote 2 student notebook(s)" in capsys.readouterr().out
    assert asg.main(["check", "--source", str(source_dir), "--out", out]) == 0
    (tmp_path / "assignments" / "01_first.ipynb").write_text("{}")
    assert asg.main(["check", "--source", str(source_dir), "--out", out]) == 1
    assert "01_first.ipynb (stale)" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["grade", "{tmp}/missing", "--out", "{tmp}/g.csv"], "missing: folder not found"),
    (["grade", "{tmp}", "--out", "{tmp}/nofolder/g.csv"], "does not exist"),
    (["grade", "{tmp}", "--out", "{tmp}/g.csv", "--workdir", "{tmp}/nowhere"], "working folder not found"),
    (["grade", "{tmp}", "--out", "{tmp}/g.csv", "--timeout", "0"], "timeout must be a positive whole number"),
    (["grade", "{tmp}", "--out", "{tmp}/g.csv", "--memory-limit-gb", "-1"], "memory limit must be positive"),
    (["build", "--source", "{tmp}/missing", "--out", "{tmp}/a"], "missing: folder not found"),
    (["check", "--source", "{tmp}/bad", "--out", "{tmp}/a"], "cell 0: BEGIN SOLUTION on line 1 without"),
])
def test_cli_errors_are_exit_2_with_one_line(tmp_path, capsys, args, message):
    (tmp_path / "bad").mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("# BEGIN SOLUTION")]), tmp_path / "bad" / "01_x.ipynb")
    code = asg.main([a.format(tmp=tmp_path) for a in args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("assignments: error: ")


def test_cli_as_module_grades_and_prints_a_summary(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(submission("def square(x):\n    return x + x"), subs / "bob.ipynb")
    (tmp_path / "workdir").mkdir()
    proc = subprocess.run([sys.executable, "-m", "nst_helpers.assignments", "grade", str(subs),
                           "--out", str(tmp_path / "g.csv"), "--workdir", str(tmp_path / "workdir")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["student_file", "passed", "first", "failure"]
    assert lines[1].split()[:3] == ["bob.ipynb", "1/2", "check_square:"]
    assert "grading bob.ipynb" in proc.stderr
    assert (tmp_path / "g.csv").read_text(encoding="utf-8").count("\n") == 3
