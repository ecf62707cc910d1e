"""The round trip through nbgrader itself, offline: generate_assignment on notebook 04 makes the
same student version as ours, and autograde gives a correct submission full points and a wrong
one none. Needs the nbgrader extra (pip install -e ".[nbgrader]"); skipped without it unless
NST_REQUIRE_NBGRADER=1 (set by CI). Its sqlite gradebook lives in a temporary folder."""
import os
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT
from nst_helpers.classroom import checks
from nst_helpers.classroom.assignments import make_student_version, nbgrader_cells
from nst_helpers.classroom.assignments.student_versions import NOTEBOOK_GLOB, has_exercises

NOTEBOOK = "04_gram_matrices"


def test_every_source_notebook_carries_nbgrader_metadata_with_our_points():
    for path in sorted((ROOT / "notebooks").glob(NOTEBOOK_GLOB)):
        nb = nbformat.read(path, as_version=4)
        if not has_exercises(nb):
            continue
        assert nbgrader_cells.unmarked(nb) == [], f"{path.name}: run nst-classroom build"
        graded = [c.metadata["nbgrader"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert graded and all(m["locked"] and m["points"] == 1.0 for m in graded)


def test_marking_puts_solution_and_graded_cells_and_nothing_else():
    nb = nbformat.read(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb", as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    nb.cells[0].metadata["nbgrader"] = {"grade": True}  # a stray mark is removed
    assert nbgrader_cells.mark(nb) and not nbgrader_cells.mark(nb)
    marks = [c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata]
    solutions, graded = [m for m in marks if m["solution"]], [m for m in marks if m["grade"]]
    assert len(marks) == 4
    assert [(m["grade"], m["grade_id"]) for m in solutions] == [(False, "gram_matrix"), (False, "shuffle_positions")]
    assert [(m["locked"], m["points"]) for m in graded] == [
        (True, checks.POINTS["check_gram"]), (True, checks.POINTS["check_shuffle_positions"])]


def run_nbgrader(course, *args):
    env = {**os.environ, "NST_QUICK": "1"}
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                         timeout=600, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


@pytest.mark.nbgrader
def test_nbgrader_round_trip_generate_and_autograde(tmp_path):
    if os.environ.get("NST_REQUIRE_NBGRADER") == "1":
        import nbgrader.api  # noqa: F401  (must be there)
    else:
        pytest.importorskip("nbgrader.api")
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    (course / "source" / "ps04").mkdir(parents=True)
    source = nbformat.read(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb", as_version=4)
    nbgrader_cells.mark(source)  # as `nst-classroom build` does
    nbformat.write(source, course / "source" / "ps04" / f"{NOTEBOOK}.ipynb")
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\nc.CourseDirectory.db_url = {db!r}\n"
        + nbgrader_cells.CONFIG)
    run_nbgrader(course, "generate_assignment", "ps04", "--force")

    theirs = nbformat.read(course / "release" / "ps04" / f"{NOTEBOOK}.ipynb", as_version=4)
    ours = make_student_version(source, NOTEBOOK)
    assert [(c.cell_type, c.source) for c in theirs.cells] == [(c.cell_type, c.source) for c in ours.cells]

    gram, shuffle = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")]
    answers = {"alice": (gram.source, shuffle.source), "bob": (gram.source.replace("/ (c * h * w)", ""), shuffle.source)}
    assert answers["bob"][0] != answers["alice"][0]
    for student, answer in answers.items():
        nb = nbformat.read(course / "release" / "ps04" / f"{NOTEBOOK}.ipynb", as_version=4)
        for exercise, text in zip((gram, shuffle), answer):
            next(c for c in nb.cells if c.id == exercise.id).source = text
        (course / "submitted" / student / "ps04").mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / "ps04" / f"{NOTEBOOK}.ipynb")
        run_nbgrader(course, "db", "student", "add", student)
    run_nbgrader(course, "autograde", "ps04", "--force")
    with Gradebook(db) as gradebook:
        scores = {s: (gradebook.find_submission("ps04", s).score, gradebook.find_submission("ps04", s).max_score)
                  for s in answers}
    assert scores == {"alice": (2.0, 2.0), "bob": (1.0, 2.0)}
