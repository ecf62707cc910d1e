"""What crosses the sandbox wall: a student function's result as plain data, and back.

Grading runs the student's code in one process (the sandbox) and the check's judgement in
another (the grader). The grader's check calls a `SandboxedFunction`; the sandbox calls the
student's real function on the same arguments and sends back only plain data, written with
`torch.save` and read with `weights_only=True`:

- a tensor result: its value, whether it requires grad, and the gradient of `result.sum()`
  with respect to every argument tensor that requires grad. On the grader's side it becomes a
  stand-in tensor with the same value and the same gradient for that sum, which is what the
  checks' gradient test asks;
- any other result: its kind (None, a number, a NumPy array, a PIL image, a function, ...);
- an exception: its type name and message, raised again on the grader's side;
- argument tensors that the function changed in place, so the grader sees the change.

Nothing the student's code does in its own process (patching torch, replacing the checks) can
change what the grader's check concludes from that data.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: The largest result file the grader reads.
MAX_RESULT_BYTES = 16 * 2**20
_MESSAGE_LIMIT = 2000
_BUILTIN_ERRORS = {cls.__name__: cls for cls in (
    NotImplementedError, KeyError, IndexError, RuntimeError, ValueError, TypeError, AttributeError,
    ZeroDivisionError, AssertionError, MemoryError, NameError, RecursionError, OverflowError)}


class MalformedResult(Exception):
    """The sandbox's answer is not what the protocol allows (tampered with, truncated, too big)."""


def tensors_in(value: Any) -> list[torch.Tensor]:
    """Every tensor inside nested dicts, lists and tuples, in a fixed order."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for key in value for t in tensors_in(value[key])]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in tensors_in(item)]
    return []


def _kind(out: Any) -> str:
    if out is None:
        return "none"
    if isinstance(out, (bool, int, float)):
        return "number"
    if isinstance(out, np.ndarray):
        return "ndarray"
    if type(out).__module__.startswith("PIL."):
        return "pil"
    return "callable" if callable(out) else "other"


def _type_name(obj: Any) -> str:
    name = type(obj).__name__
    return name if name.isidentifier() and len(name) < 60 else "object"


def encode_error(error: BaseException) -> dict:
    return {"kind": "error", "type": _type_name(error), "message": str(error)[:_MESSAGE_LIMIT]}


def encode_call(fn: Any, args: tuple) -> dict:
    """Call fn(*args) (in the sandbox) and describe the outcome as plain data."""
    inputs = tensors_in(args)
    before = [t.detach().clone() for t in inputs]
    try:
        out = fn(*args)
    except Exception as error:  # the student's error, described; SystemExit and the like end the sandbox
        return encode_error(error)
    changed = {i: t.detach().clone() for i, (t, old) in enumerate(zip(inputs, before))
               if t.shape != old.shape or not torch.equal(t.detach(), old)}
    if not isinstance(out, torch.Tensor):
        result = {"kind": _kind(out), "type": _type_name(out)}
        if result["kind"] == "number":
            result["value"] = float(out)
        return {**result, "changed": changed}
    grads: list[torch.Tensor | None] = [None] * len(inputs)
    grad_error = ""
    wanted = [i for i, t in enumerate(inputs) if t.requires_grad]
    if out.requires_grad and wanted and out.is_floating_point():
        try:
            found = torch.autograd.grad(out.sum(), [inputs[i] for i in wanted], allow_unused=True)
            for i, g in zip(wanted, found):
                grads[i] = None if g is None else g.detach().clone()
        except Exception as error:
            grad_error = f"{_type_name(error)}: {str(error)[:200]}"
    return {"kind": "tensor", "value": out.detach().cpu().clone(), "requires_grad": bool(out.requires_grad),
            "grads": grads, "grad_error": grad_error, "changed": changed}


def _named_error(name: str, message: str) -> Exception:
    """An exception whose type is called `name` (a subclass of the built-in of that name when there is one)."""
    base = _BUILTIN_ERRORS.get(name, Exception)
    if not re.fullmatch(r"[A-Za-z_]\w{0,59}", name):
        name = "Exception"
    cls = type(name, (base,), {"__str__": lambda self: message, "__module__": "sandbox"})
    return cls(message)


def _stand_in(kind: str, type_name: str) -> Any:
    if kind == "none":
        return None
    if kind == "ndarray":
        return np.zeros(1)
    if kind == "pil":
        from PIL import Image
        return Image.new("RGB", (1, 1))
    name = type_name if re.fullmatch(r"[A-Za-z_]\w{0,59}", type_name) else "object"
    if kind == "callable":
        return type(name, (), {"__call__": lambda self, *a, **k: None})()
    return type(name, (), {})()


def _check_tensor(value: Any, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise MalformedResult(f"{what} is not a tensor")
    if value.is_sparse or value.is_quantized or value.is_complex():
        raise MalformedResult(f"{what} is not a dense real tensor")
    return value


def decode_call(result: Any, args: tuple) -> Any:
    """What the student's function returned, rebuilt on the grader's side from `result` (see encode_call);
    raises the student's error again. `args` are the grader's own arguments of the same call."""
    if not isinstance(result, dict) or not isinstance(result.get("kind"), str):
        raise MalformedResult("not a result record")
    kind = result["kind"]
    if kind == "error":
        raise _named_error(str(result.get("type", "Exception")), str(result.get("message", ""))[:_MESSAGE_LIMIT])
    inputs = tensors_in(args)
    changed = result.get("changed", {})
    if not isinstance(changed, dict):
        raise MalformedResult("`changed` is not a dict")
    for index, value in changed.items():
        if not isinstance(index, int) or not 0 <= index < len(inputs):
            raise MalformedResult("a changed argument that does not exist")
        value = _check_tensor(value, "a changed argument")
        if value.shape == inputs[index].shape:
            with torch.no_grad():
                inputs[index].copy_(value)
    if kind == "number":
        number = result.get("value")
        if not isinstance(number, float):
            raise MalformedResult("a number result without its value")
        return int(number) if number.is_integer() and not math.isinf(number) else number
    if kind != "tensor":
        if kind not in ("none", "ndarray", "pil", "callable", "other"):
            raise MalformedResult(f"unknown kind {kind!r}")
        return _stand_in(kind, str(result.get("type", "object")))
    value = _check_tensor(result.get("value"), "the result")
    if not result.get("requires_grad") or not value.is_floating_point():
        return value
    grads = result.get("grads")
    if not isinstance(grads, list) or len(grads) != len(inputs):
        raise MalformedResult("gradients that do not match the arguments")
    link = None
    for tensor, grad in zip(inputs, grads):
        if grad is None or not tensor.requires_grad:
            continue
        grad = _check_tensor(grad, "a gradient")
        if grad.shape != tensor.shape:
            raise MalformedResult("a gradient of the wrong shape")
        term = (tensor * grad.to(tensor.dtype)).sum()
        link = term if link is None else link + term
    if link is None:  # requires grad, but no gradient reaches any argument
        return value.detach().requires_grad_()
    # value + (link - link.detach()) / numel: the same value; d(sum)/d(argument) = the recorded gradient
    return value + ((link - link.detach()) / max(value.numel(), 1)).to(value.dtype)


def save(data: Any, path: Path) -> None:
    torch.save(data, path)


def load(path: Path) -> Any:
    """A result file, read safely: at most MAX_RESULT_BYTES, tensors and plain containers only."""
    try:
        size = path.stat().st_size
    except OSError:
        raise MalformedResult("no result file") from None
    if size > MAX_RESULT_BYTES:
        raise MalformedResult(f"the result is {size / 2**20:.0f} MB, over the {MAX_RESULT_BYTES // 2**20} MB limit")
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:
        raise MalformedResult(f"unreadable result ({type(error).__name__})") from None
