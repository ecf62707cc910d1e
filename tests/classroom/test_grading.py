"""Grading that a student cannot game: planted cheating submissions of notebook 04 (the Gram matrix).

The sandboxed tests need bubblewrap (Debian's `bubblewrap`); without it they are skipped, unless
NST_REQUIRE_SANDBOX=1 (set by CI) turns that into a failure. Each submission starts one sandbox
(a Python process that imports torch): a few seconds each.
"""
import copy
import csv
import os

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell

from nst_helpers.classroom import assignments as asg
from nst_helpers.classroom.assignments import probes, sandbox
from nst_helpers.classroom.assignments.student_versions import is_exercise_cell
from conftest import ROOT

NOTEBOOK = "04_gram_matrices"
LIMITS = asg.Limits(cell_s=60, call_s=5, notebook_s=180, memory_gb=2, output_bytes=64 * 1024)

CORRECT = ("def gram_matrix(features):\n    n, c, h, w = features.shape\n"
           "    flat = features.reshape(n, c, h * w)\n    return flat @ flat.transpose(1, 2) / (c * h * w)\n")
UNNORMALIZED = ("def gram_matrix(features):\n    n, c, h, w = features.shape\n"
                "    flat = features.reshape(n, c, h * w)\n    return flat @ flat.transpose(1, 2)\n")


def needs_sandbox():
    why = sandbox.availability()
    if why and os.environ.get("NST_REQUIRE_SANDBOX") == "1":
        pytest.fail(f"NST_REQUIRE_SANDBOX=1 but {why}")
    if why:
        pytest.skip(why)


def without_section(nb, heading: str):
    """`nb` without the markdown section that starts with `heading` (up to the next '## ' heading)."""
    start = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith(heading))
    end = next(i for i in range(start + 1, len(nb.cells))
               if nb.cells[i].cell_type == "markdown" and nb.cells[i].source.startswith("## "))
    del nb.cells[start:end]
    return nb


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory):
    """Notebook 04 with its one Gram exercise: the shuffle exercise's section is taken out, so
    that every planted submission below is graded on gram_matrix alone."""
    folder = tmp_path_factory.mktemp("source")
    nb = nbformat.read(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb", as_version=4)
    nbformat.write(without_section(nb, "## Your turn: shuffle the positions"), folder / f"{NOTEBOOK}.ipynb")
    return folder


@pytest.fixture(scope="module")
def source(source_dir):
    return nbformat.read(source_dir / f"{NOTEBOOK}.ipynb", as_version=4)


def student_version(source):
    return asg.make_student_version(source, NOTEBOOK)


def with_answer(source, answer: str | None, change=None):
    nb = student_version(source)
    exercise = next(c for c in source.cells if is_exercise_cell(c))
    position = next(i for i, c in enumerate(nb.cells) if c.id == exercise.id)
    if answer is None:
        del nb.cells[position]
    else:
        nb.cells[position].source = answer
    if change is not None:
        change(nb, position)
    return nb


def check_cell(nb):
    return next(c for c in nb.cells if "check" in c.metadata.get("tags", []))


def edit_check(nb, position):
    check_cell(nb).source = 'print("✓ all good")'


def delete_check(nb, position):
    nb.cells.remove(check_cell(nb))


def add_cell_replacing_checks(nb, position):
    nb.cells.insert(position + 1, new_code_cell(
        "import nst_helpers.classroom.checks as checks\n"
        "checks.check_gram = lambda *args, **kwargs: print('✓ gram_matrix: all right')\n"
        "nh.checks.check_gram = checks.check_gram"))


def write(folder, name, nb):
    nbformat.write(nb, folder / f"{name}.ipynb")


def rows_by_student(rows):
    return {row.student: row for row in rows}


# --------------------------------------------------------------------------- the planted submissions

def cheats(package_file, notebook_file, grades_file):
    """name -> (answer or None, change); every one of them gets no credit for what it cheats on."""
    writes = (f"def gram_matrix(features):\n"
              f"    for path in ({str(package_file)!r}, {str(notebook_file)!r}, {str(grades_file)!r}):\n"
              f"        try:\n"
              f"            with open(path, 'a') as f:\n"
              f"                f.write('HACKED')\n"
              f"        except OSError:\n"
              f"            pass\n"
              f"    n, c, h, w = features.shape\n"
              f"    flat = features.reshape(n, c, h * w)\n"
              f"    return flat @ flat.transpose(1, 2) / (c * h * w)\n")
    return {
        "a_correct": (CORRECT, None),
        "b_wrong": (UNNORMALIZED, None),
        "c_check_edited": (UNNORMALIZED, edit_check),
        "d_check_deleted": (UNNORMALIZED, delete_check),
        "e_replaces_checks": (UNNORMALIZED, add_cell_replacing_checks),
        "f_replaces_checks_inside": ("import nst_helpers.classroom.checks as checks\n"
                                     "checks.check_gram = lambda *a, **k: print('✓ fine')\n" + UNNORMALIZED, None),
        "g_patches_torch": ("def gram_matrix(features):\n    torch.allclose = lambda *a, **k: True\n"
                            "    torch.Tensor.__eq__ = lambda *a, **k: True\n"
                            "    n, c = features.shape[:2]\n    return torch.zeros(n, c, c, requires_grad=True)\n", None),
        "h_delegates": ("def gram_matrix(features):\n    return nh.gram_matrix(features)\n", None),
        "i_reimports": ("import importlib\nimport nst_helpers.core.losses as losses\n"
                        "def gram_matrix(features):\n    return importlib.reload(losses).gram_matrix(features)\n", None),
        "j_writes": (writes, None),
        "k_loops": ("def gram_matrix(features):\n    while True:\n        pass\n", None),
        "l_memory": ("def gram_matrix(features):\n    hog = bytearray(16 * 2**30)\n    return hog\n", None),
        "m_floods": ("def gram_matrix(features):\n    while True:\n        print('x' * 10000)\n", None),
        "n_missing": (None, None),
        "z_correct_after_all": (CORRECT, None),
    }


def test_planted_cheats_get_no_credit_and_leave_everyone_else_alone(source_dir, source, tmp_path, capsys):
    needs_sandbox()
    subs = tmp_path / "submissions"
    subs.mkdir()
    grades = tmp_path / "grades" / "grades.csv"
    grades.parent.mkdir()
    grades.write_text("an old grades file\n")
    package_file = ROOT / "nst_helpers" / "core" / "losses.py"
    notebook_file = source_dir / f"{NOTEBOOK}.ipynb"
    before = {path: path.read_bytes() for path in (package_file, notebook_file)}
    for name, (answer, change) in cheats(package_file, notebook_file, grades).items():
        write(subs, name, with_answer(source, answer, change))
    (subs / "o_broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    (subs / "notes.txt").write_text("not a notebook")

    rows = asg.grade(subs, grades, source_dir=source_dir, limits=LIMITS)

    for path, data in before.items():
        assert path.read_bytes() == data, f"{path} was changed"
    with open(grades, newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0] == list(asg.ROW_FIELDS)
    assert "HACKED" not in grades.read_text(encoding="utf-8")
    assert len(table) == len(rows) + 1
    got = rows_by_student(rows)
    expected = {  # student: (status, points, a piece of the message)
        "a_correct": ("passed", 1.0, "✓ gram_matrix"),
        "b_wrong": ("failed", 0.0, "not normalized"),
        "c_check_edited": ("tampered", 0.0, "the check cell was changed (graded with the teacher's check): "
                                            "gram_matrix: the result is not normalized"),
        "d_check_deleted": ("tampered", 0.0, "the check cell was deleted"),
        "e_replaces_checks": ("failed", 0.0, "not normalized"),
        "f_replaces_checks_inside": ("failed", 0.0, "not normalized"),
        "g_patches_torch": ("failed", 0.0, "gram_matrix"),
        "h_delegates": ("failed", 0.0, "own answer to the exercise being graded"),
        "i_reimports": ("failed", 0.0, "own answer to the exercise being graded"),
        "j_writes": ("passed", 1.0, "✓ gram_matrix"),
        "k_loops": ("timeout", 0.0, "calling gram_matrix: over the 5 s limit"),
        "l_memory": ("failed", 0.0, "MemoryError"),
        "m_floods": ("crashed", 0.0, "printed more than 64 KB"),
        "n_missing": ("missing", 0.0, "no cell defines gram_matrix"),
        "z_correct_after_all": ("passed", 1.0, "✓ gram_matrix"),
    }
    for student, (status, points, message) in expected.items():
        row = got[student]
        assert (row.notebook, row.exercise, row.max_points) == (NOTEBOOK, "gram_matrix", 1.0), row
        assert (row.status, row.points) == (status, points), row
        assert message in row.message and row.message.endswith("[sandbox]"), row
    assert got["o_broken"].status == "error" and "cannot read the notebook" in got["o_broken"].message
    assert "skipping notes.txt: not a notebook" not in capsys.readouterr().err  # log=None: nothing printed


def test_the_judge_sees_through_a_patched_process_without_a_sandbox_too(source, source_dir, tmp_path):
    """Without isolation the student's code runs unconfined, but still in another process than the judge."""
    subs = tmp_path / "subs"
    subs.mkdir()
    write(subs, "alice", with_answer(source, CORRECT))
    write(subs, "bob", with_answer(source, UNNORMALIZED, add_cell_replacing_checks))
    write(subs, "carol", with_answer(source, "import nst_helpers.classroom.checks as checks\n"
                                             "checks.check_gram = lambda *a, **k: None\n" + UNNORMALIZED))
    write(subs, "dave", with_answer(source, "def gram_matrix(features):\n    return nh.gram_matrix(features)\n"))
    rows = rows_by_student(asg.grade(subs, tmp_path / "g.csv", source_dir=source_dir, sandboxed=False, limits=LIMITS))
    assert [(s, rows[s].status, rows[s].points) for s in sorted(rows)] == [
        ("alice", "passed", 1.0), ("bob", "failed", 0.0), ("carol", "failed", 0.0), ("dave", "failed", 0.0)]
    assert all(row.message.endswith("[no sandbox]") for row in rows.values())
    assert "own answer" in rows["dave"].message


def test_without_a_sandbox_grading_refuses_unless_told(source_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "availability", lambda: "bubblewrap is not installed")
    with pytest.raises(ValueError, match="no sandbox: bubblewrap is not installed; .* --no-sandbox"):
        asg.grade(tmp_path, tmp_path / "g.csv", source_dir=source_dir)


def test_bad_folders_other_assignments_and_duplicates(source, source_dir, tmp_path):
    subs = tmp_path / "subs"
    (subs / "erin").mkdir(parents=True)
    other = student_version(source)
    other.metadata["nst_helpers"] = {"assignment": "05_texture_synthesis"}
    write(subs, "frank_04_gram_matrices", other)
    write(subs / "erin", NOTEBOOK, with_answer(source, CORRECT))
    write(subs, "erin_04", with_answer(source, CORRECT))
    nameless = with_answer(source, CORRECT)
    del nameless.metadata["nst_helpers"]
    write(subs, "gina", nameless)
    rows = asg.grade(subs, tmp_path / "g.csv", source_dir=source_dir, sandboxed=False, limits=LIMITS)
    found = [(r.student, r.status, r.message.split(": ", 1)[-1][:40]) for r in rows]
    assert found == [("erin", "passed", found[0][2]),
                     ("erin", "error", "a second submission of 04_gram_matrices "),
                     ("frank", "error", "this is 05_texture_synthesis, not 04_gra"),
                     ("gina", "error", "cannot tell which notebook it answers (n")]
    assert [r.student for r in asg.grade(subs / "erin", tmp_path / "g.csv", source_dir=source_dir,
                                         assignment="04", sandboxed=False, limits=LIMITS)] == ["erin"]
    with pytest.raises(ValueError, match="--assignment 99: no source notebook"):
        asg.grade(subs, tmp_path / "g.csv", source_dir=source_dir, assignment="99", sandboxed=False)


def test_exercises_are_read_from_the_teachers_notebook(source):
    (exercise,) = asg.exercises(source)
    assert (exercise.check, exercise.target, exercise.points) == ("check_gram", "gram_matrix", 1.0)
    broken = copy.deepcopy(source)
    check_cell(broken).source = "print('no check here')"
    with pytest.raises(ValueError, match="calls no nh.checks.check_"):
        asg.exercises(broken)


# --------------------------------------------------------------------------- what crosses the wall

def test_a_tensor_result_comes_back_with_its_value_and_its_gradient():
    x = torch.randn(2, 3, requires_grad=True)
    w = torch.randn(3, 4)
    record = probes.encode_call(lambda a, b: (a @ b).tanh(), (x.detach().clone().requires_grad_(), w))
    given = x.detach().clone().requires_grad_()
    out = probes.decode_call(record, (given, w))
    assert torch.allclose(out, (x @ w).tanh())
    grad, = torch.autograd.grad(out.sum(), given)
    expected, = torch.autograd.grad((x @ w).tanh().sum(), x)
    assert torch.allclose(grad, expected)


def test_a_detached_result_stays_detached_and_errors_keep_their_type():
    x = torch.randn(3, requires_grad=True)
    out = probes.decode_call(probes.encode_call(lambda a: a.detach() * 2, (x,)), (x,))
    assert not out.requires_grad
    record = probes.encode_call(lambda a: {}["layer"], (x,))
    with pytest.raises(KeyError) as info:
        probes.decode_call(record, (x,))
    assert type(info.value).__name__ == "KeyError" and str(info.value) == "'layer'"
    assert probes.decode_call(probes.encode_call(lambda a: None, (x,)), (x,)) is None
    assert type(probes.decode_call(probes.encode_call(lambda a: a.numpy(), (x.detach(),)), (x,))).__name__ == "ndarray"


def test_in_place_changes_come_back():
    x = torch.ones(3)
    record = probes.encode_call(lambda a: a.mul_(2), (x.clone(),))
    mine = torch.ones(3)
    probes.decode_call(record, (mine,))
    assert torch.equal(mine, torch.full((3,), 2.0))


@pytest.mark.parametrize("record, message", [
    ("not a dict", "not a result record"),
    ({"kind": "tensor", "value": "1"}, "not a tensor"),
    ({"kind": "tensor", "value": torch.ones(2), "requires_grad": True, "grads": []}, "do not match"),
    ({"kind": "weird"}, "unknown kind"),
    ({"kind": "none", "changed": {5: torch.ones(1)}}, "does not exist"),
])
def test_malformed_results_are_refused(record, message):
    with pytest.raises(probes.MalformedResult, match=message):
        probes.decode_call(record, (torch.ones(2, requires_grad=True),))


def test_oversized_and_unsafe_result_files_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "out.pt"
    torch.save({"kind": "none", "x": torch.zeros(100)}, path)
    monkeypatch.setattr(probes, "MAX_RESULT_BYTES", 100)
    with pytest.raises(probes.MalformedResult, match="over the"):
        probes.load(path)
    monkeypatch.setattr(probes, "MAX_RESULT_BYTES", 2**20)
    torch.save({"kind": "none", "x": object}, path)  # a class: not loadable with weights_only
    with pytest.raises(probes.MalformedResult, match="unreadable"):
        probes.load(path)


def test_stripping_a_function_keeps_the_rest_of_the_module():
    source = "import math\n\ndef keep(x):\n    return x\n\nclass A:\n    def f(self):\n        return 1\n"
    stripped = sandbox.strip_function(source, "A.f", "withheld")
    namespace = {}
    exec(stripped, namespace)
    assert namespace["keep"](3) == 3
    with pytest.raises(RuntimeError, match="withheld"):
        namespace["A"]().f()
    with pytest.raises(ValueError, match="no function 'nope'"):
        sandbox.strip_function(source, "nope", "x")


# --------------------------------------------------------------------------- feedback and class summary

def test_feedback_per_submission_and_a_class_summary(source, source_dir, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    write(subs, "alice", with_answer(source, CORRECT))
    write(subs, "bob", with_answer(source, UNNORMALIZED))
    write(subs, "carl", with_answer(source, None))
    feedback = tmp_path / "feedback"
    asg.grade(subs, tmp_path / "g.csv", source_dir=source_dir, sandboxed=not sandbox.availability(),
              limits=LIMITS, feedback_dir=feedback)
    assert sorted(p.name for p in feedback.iterdir()) == [
        "alice_04_gram_matrices.md", "alice_04_gram_matrices_gram_matrix.png", "bob_04_gram_matrices.md",
        "carl_04_gram_matrices.md", "summary.md", "summary.png"]
    assert (feedback / "bob_04_gram_matrices.md").read_text() == (
        "# 04_gram_matrices: feedback for bob\n\n| exercise | status | points |\n|---|---|---|\n"
        "| gram_matrix | failed | 0/1 |\n\n**Total: 0/1**\n\n## gram_matrix: failed (0/1)\n\n"
        "gram_matrix: the result is not normalized: divide by C*H*W (here 4*6*5 = 120), so that the values "
        "do not depend on the layer's size\n")
    alice = (feedback / "alice_04_gram_matrices.md").read_text()
    assert "| gram_matrix | passed | 1/1 |" in alice and alice.endswith(
        "![what the check drew for gram_matrix](alice_04_gram_matrices_gram_matrix.png)\n")
    assert "## gram_matrix: missing (0/1)\n\nno cell defines gram_matrix: was it deleted?\n" in \
        (feedback / "carl_04_gram_matrices.md").read_text()
    assert (feedback / "summary.md").read_text() == (
        "# Class summary\n\n| notebook | exercise | passed | most common problems |\n|---|---|---|---|\n"
        "| 04_gram_matrices | gram_matrix | 1/3 | 1x failed: gram_matrix: the result is not normalized: divide "
        "by C*H*W (here 4*6*5 = 120), so that the values do not depend on the layer's size<br>1x missing: no cell "
        "defines gram_matrix: was it deleted? |\n")
    for png in ("summary.png", "alice_04_gram_matrices_gram_matrix.png"):
        assert (feedback / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
