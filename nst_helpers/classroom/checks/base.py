"""What every check shares: running the student's function safely, one-line failures, and
comparisons with known mistakes. Each topic's checks live in their own module beside this one."""
from __future__ import annotations

from typing import Any, Callable, Mapping, NoReturn, Sequence

import numpy as np
import torch
from PIL import Image

NOT_IMPLEMENTED = "not implemented yet: replace the `raise NotImplementedError` with your code"

Mistakes = Sequence[tuple[Any, str]]  # (what a known mistake would return, what to tell the student)


class Mistake(Exception):
    """Raised by our own probes (e.g. a forbidden optimizer.step) with a message for the student."""



def function_name(fn: Callable, default: str) -> str:
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() else default


def run_student(name: str, fn: Callable, *args: Any, hint: Callable[[Exception], str] | None = None) -> Any:
    """fn(*args), with any exception turned into a one-line AssertionError."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise AssertionError(f"{name}: {NOT_IMPLEMENTED}") from None
    except Mistake as mistake:
        raise AssertionError(f"{name}: {mistake}") from None
    except Exception as error:
        lines = str(error).strip().splitlines()
        message = f"{name} raised {type(error).__name__}" + (f": {lines[0]}" if lines else "")
        extra = hint(error) if hint is not None else ""
        if isinstance(error, RuntimeError) and "device" in str(error):
            extra = "make new tensors on the input's device, e.g. torch.tensor(..., device=image.device)"
        raise AssertionError(message + (f" ({extra})" if extra else "")) from None


def run_probe(probe: Callable[[Callable], Any], fn: Callable) -> Any:
    """probe(fn): run the student's function `fn` the way a check needs it and return plain data
    (numbers, strings, tensors, lists and dicts of them) for the check to judge.

    In a notebook this is just probe(fn). When grading, `fn` stands for a function that lives in
    a sandbox: the probe runs there, next to it, and only its plain data comes back, so nothing
    the student's code does can reach the judgement. Probes are module-level functions named
    ``*_probe`` in the checks' modules.
    """
    if getattr(fn, "is_sandboxed_function", False):
        return fn.run_probe(probe)
    return probe(fn)


def fail(name: str, message: str) -> NoReturn:
    raise AssertionError(f"{name}: {message}")


def as_tensor(name: str, out: Any) -> torch.Tensor:
    """The student's result as a tensor, or a failure that says what it was instead."""
    if isinstance(out, torch.Tensor):
        return out
    if out is None:
        fail(name, "returned None: did you forget the `return`?")
    if isinstance(out, (int, float)):
        fail(name, "returned a plain Python number, not a tensor: drop the .item() or float(...) "
                    "so that gradients can flow back through the result")
    if isinstance(out, np.ndarray):
        fail(name, "returned a NumPy array: use torch operations so the result stays a tensor")
    if isinstance(out, Image.Image):
        fail(name, "returned a PIL image: turn it back into a (1, 3, H, W) tensor, e.g. with "
                    "nh.load_image(pil_image)")
    fail(name, f"returned a {type(out).__name__}, expected a torch tensor")


def as_scalar(name: str, out: Any, how: str = "average with .mean()") -> torch.Tensor:
    out = as_tensor(name, out)
    if out.numel() != 1:
        fail(name, f"returned a tensor of shape {tuple(out.shape)}, expected a single number "
                    f"(a scalar tensor): {how}")
    return out.reshape(())


def close(a: Any, b: Any, rtol: float = 1e-3, atol: float = 1e-7) -> bool:
    a, b = torch.as_tensor(a).detach().double().cpu(), torch.as_tensor(b).detach().double().cpu()
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=atol))


def known_mistake(out: torch.Tensor, mistakes: Mistakes) -> str | None:
    return next((message for value, message in mistakes if close(out, value)), None)


def require_scalar_value(name: str, out: torch.Tensor, expected: torch.Tensor, mistakes: Mistakes,
                        what: str) -> None:
    if close(out, expected):
        return
    fail(name, known_mistake(out, mistakes) or
          f"returned {out.detach().item():.5g} on the check's input, expected {expected.item():.5g}: {what}")


def require_gradient(name: str, out: torch.Tensor, inputs: Mapping[str, torch.Tensor]) -> None:
    """Gradients of out must reach every input (inputs: {label for the message: tensor})."""
    cut = ("Don't use .detach(), .item(), .numpy(), torch.tensor(...) or torch.no_grad() on the "
           "way: the optimizer needs the gradient")
    if not out.requires_grad:
        fail(name, f"the result is cut off from its input (it has no grad_fn). {cut}")
    grads = torch.autograd.grad(out.sum(), list(inputs.values()), allow_unused=True)
    for label, grad in zip(inputs, grads):
        if grad is None or not bool(grad.abs().sum() > 0):
            fail(name, f"no gradient flows back to {label}. {cut}")


def randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def rand(*shape: int, seed: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))
