"""The package's architecture, checked: layers, no circles, small modules, no private imports,
a light `import nst_helpers`, and notebooks that use only the front door."""
import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import nst_helpers as nh

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nst_helpers"
MAX_LINES = 300
HEAVY = ("ipywidgets", "matplotlib", "IPython")


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    command = [str(exe)] if exe.exists() else [shutil.which("lint-imports") or "lint-imports"]
    return subprocess.run([*command, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(cwd)})


def test_layers_and_no_circles_hold():
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 kept, 0 broken" in run.stdout


@pytest.mark.parametrize("module, planted", [
    ("core/images.py", "from ..methods import gatys  # core reaching up\n"),
    ("canvas/transforms.py", "from . import schedules  # schedules imports transforms: a circle\n"),
])
def test_lint_imports_catches_a_planted_violation(tmp_path, module, planted):
    shutil.copytree(PACKAGE, tmp_path / "nst_helpers", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    path = tmp_path / "nst_helpers" / module
    text = path.read_text()
    anchor = "from __future__ import annotations\n"
    path.write_text(text.replace(anchor, anchor + planted, 1) if anchor in text else planted + text)
    run = lint_imports(tmp_path)
    assert run.returncode != 0 and "BROKEN" in run.stdout, run.stdout + run.stderr


def test_every_module_is_short():
    long = {str(p.relative_to(ROOT)): n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def private_imports(path: Path) -> list[str]:
    """`from X import _name` or `import X._name` where X is part of nst_helpers (relative or absolute)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("nst_helpers")):
            module_parts = (node.module or "").split(".")
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            found += [node.module] * any(p.startswith("_") and not p.startswith("__") for p in module_parts)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("nst_helpers")
                      and any(p.startswith("_") and not p.startswith("__") for p in a.name.split("."))]
    return found


def test_no_private_name_is_imported_across_modules():
    offenders = {str(p.relative_to(ROOT)): names for p in modules() if (names := private_imports(p))}
    assert not offenders


def test_the_private_import_finder_finds_one(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("from ..methods.deepdream import _random_shift\nfrom nst_helpers.core import images\n")
    assert private_imports(planted) == ["methods.deepdream._random_shift"]


def imported_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120, check=True).stdout
    return {name.split(".")[0] for name in out.split()}


def test_import_and_the_cli_load_no_widget_or_plotting_library():
    assert not imported_after("import nst_helpers") & set(HEAVY)
    help_text = ("from nst_helpers.cli import main\n"
                 "try:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert not imported_after(help_text) & set(HEAVY)
    # ...and the lazy names still work, loading them on first use
    assert {"matplotlib", "ipywidgets"} <= imported_after("import nst_helpers as nh; nh.plot_losses; nh.OptimizationPanel")


def test_lazy_names_resolve_and_unknown_names_fail():
    assert callable(nh.show_images) and callable(nh.checks.check_gram)
    assert set(nh.__all__) <= set(dir(nh))
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        nh.nonexistent  # noqa: B018


PUBLIC_MODULES = {"transforms", "schedules", "styles", "colour", "checks", "objectives"}


def front_door_problems(source: str) -> list[str]:
    problems = re.findall(r"(?:from|import)\s+(nst_helpers\.[\w.]+)", source)
    for name, attribute in re.findall(r"\bnh\.(\w+)(?:\.(\w+))?", source):
        if name not in nh.__all__:
            problems.append(f"nh.{name}")
        elif attribute and (name not in PUBLIC_MODULES or attribute.startswith("_")):
            problems.append(f"nh.{name}.{attribute}")
    for names in re.findall(r"from nst_helpers import ([\w, ]+)", source):
        problems += [f"nst_helpers.{n.strip()}" for n in names.split(",") if n.strip() not in nh.__all__]
    return problems


@pytest.mark.parametrize("folder", ["notebooks", "assignments"])
def test_notebooks_use_only_the_front_door(folder):
    problems = {}
    for path in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb")):
        source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        if found := front_door_problems(source):
            problems[path.name] = found
    assert not problems


def test_the_front_door_check_catches_a_back_door():
    assert front_door_problems("from nst_helpers.methods.deepdream import octave_sizes") == [
        "nst_helpers.methods.deepdream"]
    assert front_door_problems("nh.transfer.initial_image(x)") == ["nh.transfer"]
    assert front_door_problems("nh.transforms._check(x)") == ["nh.transforms._check"]
    assert front_door_problems("nh.style_transfer(a, b); nh.checks.check_gram(f)") == []
