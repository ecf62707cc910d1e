"""The process that runs a student's code while it is graded (inside the sandbox).

    python -m nst_helpers.classroom.assignments.runner REPLY_FD [--withhold module:name ...]

It reads one JSON command per line on stdin and answers each with one JSON line on the file
descriptor REPLY_FD (the student's prints go to stdout and stderr, which the grader caps):

- ``{"op": "cell", "index": i, "source": ...}``: run a cell's code in the notebook's namespace;
- ``{"op": "call", "target": name, "args": path, "out": path}``: call the student's function on
  the arguments saved at `args` and save the outcome (see probes.encode_call) at `out`;
- ``{"op": "probe", "probe": "module:function", "target": name, "out": path}``: run one of the
  checks' probe functions (the closure exercise's L-BFGS trace, ...) on the student's function
  and save what it returns, plain data only;
- ``{"op": "exit"}``.

Before any student code runs, the package's own answers to the exercises being graded
(--withhold) are replaced by functions that raise, so an answer cannot delegate to them. In the
sandbox their source files are also replaced (see sandbox.py), so re-importing does not help.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
from typing import Any, Callable

import torch

from . import probes

WITHHELD_MESSAGE = ("{name} is this package's own answer to the exercise being graded, so it is not "
                    "available while grading: write the computation yourself")
#: The same for a library's function that is the answer (torch's F.instance_norm for notebook 10's exercise).
WITHHELD_LIBRARY_MESSAGE = ("{name} computes the answer to the exercise being graded, so it is not "
                            "available while grading: write the computation yourself")


class ReferenceWithheld(RuntimeError):
    """Raised when a graded answer calls the package's own answer to its exercise."""


def _resolve(spec: str) -> tuple[Any, str, Any]:
    """'package.module:Class.method' -> (owner object, attribute name, the object)."""
    module_name, _, qualname = spec.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, attribute = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, attribute, getattr(owner, attribute)


def withhold(specs: list[str]) -> None:
    """Replace each named function everywhere the package binds it with one that raises ReferenceWithheld."""
    for spec in specs:
        owner, attribute, original = _resolve(spec)
        ours = isinstance(owner, type(sys)) and owner.__name__.split(".")[0] == "nst_helpers"
        label = f"nh.{attribute}" if ours else f"{owner.__name__}.{attribute}"
        message = WITHHELD_MESSAGE if ours or not isinstance(owner, type(sys)) else WITHHELD_LIBRARY_MESSAGE

        def guard(*args: Any, _label: str = label, _message: str = message, **kwargs: Any) -> Any:
            raise ReferenceWithheld(_message.format(name=_label))
        setattr(owner, attribute, guard)
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("nst_helpers"):
                for name, value in list(vars(module).items()):
                    if value is original:
                        setattr(module, name, guard)


def _strip_magics(source: str) -> str:
    """Cell source without IPython's magic and shell lines (%matplotlib inline, !pip ...)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def _probe_function(spec: str) -> Callable[[Any], Any]:
    module_name, _, name = spec.partition(":")
    if not module_name.startswith("nst_helpers.classroom.checks."):
        raise ValueError(f"{spec}: not a check's probe")
    probe = getattr(importlib.import_module(module_name), name)
    if not callable(probe) or not name.endswith("_probe"):
        raise ValueError(f"{spec}: not a check's probe")
    return probe


def _target(namespace: dict, name: str) -> Any:
    if name not in namespace:
        raise NameError(f"name {name!r} is not defined (did its cell run without an error?)")
    return namespace[name]


def handle(command: dict, namespace: dict) -> dict:
    op = command.get("op")
    if op == "cell":
        code = compile(_strip_magics(command["source"]), f"<cell {command['index']}>", "exec")
        exec(code, namespace)
        return {"ok": True}
    if op == "call":
        args = torch.load(command["args"], weights_only=True)
        probes.save(probes.encode_call(_target(namespace, command["target"]), tuple(args)), command["out"])
        return {"ok": True}
    if op == "probe":
        probe, fn = _probe_function(command["probe"]), _target(namespace, command["target"])
        try:
            result: dict = {"kind": "data", "value": probe(fn)}
        except AssertionError as failure:  # the check's own diagnosis, made in here
            result = {"kind": "failed", "message": str(failure)[:2000]}
        except Exception as error:
            result = probes.encode_error(error)
        probes.save(result, command["out"])
        return {"ok": True}
    raise ValueError(f"unknown command {op!r}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    reply = os.fdopen(int(argv[0]), "w", buffering=1)
    specs = argv[argv.index("--withhold") + 1:] if "--withhold" in argv else []
    import nst_helpers  # noqa: F401  (loaded before the student's code, so its bindings can be withheld)
    import nst_helpers.classroom.checks  # noqa: F401  (and the checks' probes)
    withhold(specs)
    namespace: dict = {"__name__": "__main__", "display": lambda *a, **k: None}
    reply.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("op") == "exit":
            break
        try:
            answer = handle(command, namespace)
        except BaseException as error:  # noqa: BLE001  (the student's cell may raise anything, SystemExit too)
            if isinstance(error, KeyboardInterrupt):
                raise
            answer = {"ok": False, "error": f"{type(error).__name__}: {str(error).strip()[:500]}"}
        sys.stdout.flush()
        sys.stderr.flush()
        reply.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
