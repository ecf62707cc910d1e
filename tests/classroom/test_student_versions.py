"""The real notebooks, graded: every exercise passes with the reference solutions in place (the
teacher's notebooks handed in as submissions), and every one fails with the 'not implemented yet'
message in the generated student versions. Sandboxed where bubblewrap works, else not."""
import shutil

import nbformat
import pytest

from conftest import ROOT
from nst_helpers.classroom import checks
from nst_helpers.classroom.assignments import grade, sandbox
from nst_helpers.classroom.assignments.student_versions import NOTEBOOK_GLOB, has_exercises

EXERCISES = {"preserve_colour", "preprocess_caffe", "channel_loss", "content_loss", "tv_loss", "make_closure",
             "gram_matrix", "style_loss", "total_loss", "masked_gram_matrix", "dream_step", "adain", "build_vgg19",
             "colour_preserving_transfer", "visualize_channel", "normalized_content_loss", "reconstruct",
             "shuffle_positions", "synthesize", "coarse_to_fine", "dream_octaves", "mean_std_loss",
             "instance_norm"}


def graded(folder, tmp_path):
    return grade(folder, tmp_path / "grades.csv", sandboxed=not sandbox.availability())


@pytest.mark.slow
def test_student_versions_fail_every_check_helpfully(tmp_path):
    rows = graded(ROOT / "assignments", tmp_path)
    assert {row.exercise for row in rows} == EXERCISES
    for row in rows:
        assert row.status == "failed" and row.points == 0 and "not implemented yet" in row.message, row


@pytest.mark.slow
def test_reference_notebooks_pass_every_check(tmp_path):
    """The teacher's notebooks that have exercises (01-10), handed in as they are (the others are
    no assignment, and the grader rightly says so)."""
    handed_in = tmp_path / "handed_in"
    handed_in.mkdir()
    for path in sorted((ROOT / "notebooks").glob(NOTEBOOK_GLOB)):
        if has_exercises(nbformat.read(path, as_version=4)):
            shutil.copy(path, handed_in)
    assert len(list(handed_in.iterdir())) == 10
    rows = graded(handed_in, tmp_path)
    assert {row.exercise for row in rows} == EXERCISES
    assert sum(row.max_points for row in rows) == sum(checks.POINTS.values())
    for row in rows:
        assert row.status == "passed" and row.points == row.max_points and "✓" in row.message, row
