"""The real notebooks: every check passes with the reference solutions in place, and every check
fails with the 'not implemented yet' message in the generated student versions."""
import pytest

from conftest import ROOT
from nst_helpers.classroom.assignments import grade

EXERCISES = {"check_preserve_colour", "check_preprocess", "check_channel_objective", "check_content_loss",
             "check_tv_loss", "check_lbfgs_closure", "check_gram", "check_style_loss", "check_total_loss",
             "check_masked_gram", "check_dream_step", "check_adain"}


@pytest.mark.slow
def test_student_versions_fail_every_check_helpfully(tmp_path):
    rows = grade(ROOT / "assignments", tmp_path / "grades.csv", cell_timeout=300)
    assert {row.exercise for row in rows} == EXERCISES
    for row in rows:
        assert not row.passed and "not implemented yet" in row.message, row


@pytest.mark.slow
def test_reference_notebooks_pass_every_check(tmp_path):
    rows = grade(ROOT / "notebooks", tmp_path / "grades.csv", cell_timeout=300)
    assert {row.exercise for row in rows} == EXERCISES
    for row in rows:
        assert row.passed and row.message.startswith("✓"), row
