"""The sandbox a submission runs in: bubblewrap (Debian's `bubblewrap`), as root or not.

What it protects against (each is tested with a planted submission):
- reading the teacher's solutions: this checkout is hidden (an empty folder) except the package
  and data/; the submissions folder and the grades' folder are hidden too;
- writing anything outside a fresh scratch folder: the whole file system is read-only, so the
  package, the notebooks and the grades file cannot be changed;
- the network: none (a new, empty network namespace);
- the package's own answer to the exercise being graded: its source is replaced by a stub
  that raises, so neither `nh.gram_matrix` nor re-importing or re-reading the module gives it;
- running forever, eating the memory, flooding the output: time limits per cell, per call and
  per notebook, a data-memory cap (RLIMIT_DATA), a file-size cap, an output cap (session.py).

What it does not protect against: copies of the solutions elsewhere on the machine that the
grader's user can read (grade on a machine that holds only the student versions), answers
copied from elsewhere (a correct answer is a correct answer), and code that reads the check's
public inputs and returns hard-coded outputs computed at home. Other processes of the same
user outside the sandbox are not visible (new PID namespace).
"""
from __future__ import annotations

import ast
import functools
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import nst_helpers

PACKAGE_DIR = Path(nst_helpers.__file__).resolve().parent
CHECKOUT = PACKAGE_DIR.parent
#: What a sandbox keeps of this checkout (when it is one): the package and the images.
KEPT = ("nst_helpers", "data")


class NoSandbox(RuntimeError):
    """Isolation is not available here."""


@functools.lru_cache(maxsize=1)
def availability() -> str:
    """'' when bubblewrap works here, else why not (one line)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                                "--unshare-all", "--die-with-parent", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap does not start: {error}"
    if probe.returncode != 0:
        return f"bubblewrap cannot make namespaces here: {probe.stderr.decode(errors='replace').strip()[:200]}"
    return ""


def strip_function(source: str, qualname: str, message: str) -> str:
    """`source` (a module) with the body of function `qualname` ("f" or "Class.f") replaced by
    `raise RuntimeError(message)`. ValueError when there is no such function."""
    tree = ast.parse(source)
    *classes, name = qualname.split(".")
    body = tree.body
    for cls in classes:
        owner = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == cls), None)
        if owner is None:
            raise ValueError(f"no class {cls!r}")
        body = owner.body
    function = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name),
                    None)
    if function is None:
        raise ValueError(f"no function {qualname!r}")
    function.body = [ast.Raise(exc=ast.Call(func=ast.Name("RuntimeError", ast.Load()),
                                            args=[ast.Constant(message)], keywords=[]), cause=None)]
    function.decorator_list = []
    return ast.unparse(ast.fix_missing_locations(tree))


def stripped_modules(specs: list[str], folder: Path) -> dict[Path, Path]:
    """For the functions in `specs` ("module:qualname"), write their modules with those bodies stubbed
    out into `folder`; returns {original file: stripped copy}."""
    from .runner import WITHHELD_MESSAGE

    by_module: dict[str, list[str]] = {}
    for spec in specs:
        module, _, qualname = spec.partition(":")
        by_module.setdefault(module, []).append(qualname)
    copies = {}
    for number, (module, qualnames) in enumerate(sorted(by_module.items())):
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.origin:
            raise ValueError(f"{module}: module not found")
        original = Path(spec.origin).resolve()
        source = original.read_text(encoding="utf-8")
        for qualname in qualnames:
            source = strip_function(source, qualname, WITHHELD_MESSAGE.format(name=qualname.split(".")[-1]))
        copy = folder / f"withheld_{number}.py"
        copy.write_text(source, encoding="utf-8")
        copies[original] = copy
    return copies


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def command(inner: list[str], *, scratch: Path, private: Path, workdir: Path, hide: list[Path],
            withheld: list[str]) -> list[str]:
    """The bubblewrap command line that runs `inner` in a fresh sandbox (see the module docstring).
    scratch: the one writable folder; private: a folder outside it for the stubbed-out modules;
    workdir: the working folder (shown empty); hide: folders to show empty (skipped when the
    sandbox needs what is inside them)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None or availability():
        raise NoSandbox(availability() or "bubblewrap is not installed")
    scratch, workdir = scratch.resolve(), workdir.resolve()
    prefix = Path(sys.prefix).resolve()
    needed = [prefix, Path(sys.base_prefix).resolve(), PACKAGE_DIR, scratch]
    args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    if (CHECKOUT / "pyproject.toml").is_file():  # a source checkout: show only the package and the data
        args += ["--tmpfs", str(CHECKOUT)]
        for keep in [CHECKOUT / name for name in KEPT] + ([prefix] if _inside(prefix, CHECKOUT) else []):
            if keep.exists():
                args += ["--ro-bind", str(keep), str(keep)]
    for folder in hide:
        folder = folder.resolve()
        if folder.is_dir() and not any(_inside(path, folder) for path in needed):
            args += ["--tmpfs", str(folder)]
    if not any(_inside(path, workdir) for path in needed):
        args += ["--tmpfs", str(workdir)]
    for original, copy in stripped_modules(withheld, private).items():
        args += ["--ro-bind", str(copy), str(original)]
        if (original.parent / "__pycache__").is_dir():
            args += ["--tmpfs", str(original.parent / "__pycache__")]
    args += ["--bind", str(scratch), str(scratch), "--chdir", str(workdir),
             "--unshare-all", "--die-with-parent", "--new-session", "--"]
    return args + inner
