"""Student versions (make_student_version, build, check_up_to_date) and the CLI (grading itself:
test_grading.py). Everything runs on tiny notebooks made here with nbformat.
"""
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from conftest import ROOT
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


# --------------------------------------------------------------------------- command line

def test_cli_build_then_check_exit_codes(source_dir, tmp_path, capsys):
    out = str(tmp_path / "assignments")
    assert asg.main(["check", "--source", str(source_dir), "--out", out]) == 1
    text = capsys.readouterr().out
    assert "01_first.ipynb (missing, no nbgrader metadata)" in text and "02_second.ipynb (missing" in text
    assert asg.main(["build", "--source", str(source_dir), "--out", out]) == 0
    assert "wrote 2 student notebook(s)" in capsys.readouterr().out
    assert asg.main(["check", "--source", str(source_dir), "--out", out]) == 0
    (tmp_path / "assignments" / "01_first.ipynb").write_text("{}")
    assert asg.main(["check", "--source", str(source_dir), "--out", out]) == 1
    assert "01_first.ipynb (stale)" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["grade", "{tmp}/missing", "--out", "{tmp}/g.csv"], "missing: folder not found"),
    (["grade", "{tmp}", "--out", "{tmp}/nofolder/g.csv"], "does not exist"),
    (["grade", "{tmp}", "--out", "{tmp}/g.csv", "--source", "{tmp}/nowhere"], "source notebooks not found"),
    (["grade", "{tmp}", "--out", "{tmp}/g.csv", "--timeout", "0"], "--timeout must be positive"),
    (["grade", "{tmp}", "--out", "{tmp}/g.csv", "--call-timeout", "-1"], "--call-timeout must be positive"),
    (["grade", "{tmp}", "--out", "{tmp}/g.csv", "--memory-limit-gb", "-1"], "--memory-limit-gb must be 0"),
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
    source = nbformat.read(ROOT / "notebooks" / "04_gram_matrices.ipynb", as_version=4)
    nbformat.write(asg.make_student_version(source, "04_gram_matrices"), subs / "bob.ipynb")
    (subs / "notes.txt").write_text("not a notebook")
    proc = subprocess.run([sys.executable, "-m", "nst_helpers.assignments", "grade", str(subs), "--no-sandbox",
                           "--out", str(tmp_path / "g.csv")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["student", "notebook", "points", "first", "problem"]
    assert lines[1].split()[:5] == ["bob", "04_gram_matrices", "0/2", "gram_matrix:", "failed:"]
    assert "grading bob.ipynb" in proc.stderr and "skipping notes.txt: not a notebook" in proc.stderr
    assert (tmp_path / "g.csv").read_text(encoding="utf-8").count("\n") == 3  # header, one row per exercise
