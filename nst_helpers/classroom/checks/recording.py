"""What the checks of loops share (notebooks 01, 02, 03, 05, 07, 08): stand-ins that record how
the student's loop called them, and the judgement of an image a loop returned.

A loop takes functions (a transfer, a loss, a step) or an extractor, which cannot cross the
sandbox wall; so its check runs it in a probe (see base.run_probe) with fast stand-ins wrapped
in a `Recorder`, and the probe sends back the result and the recorded calls as plain data.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from .base import as_tensor, fail


def snapshot(value: Any) -> Any:
    """`value` as plain data: tensors detached and copied, dicts/lists/tuples rebuilt, None kept,
    anything else by its type's name."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {str(key): snapshot(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [snapshot(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return f"<{type(value).__name__}>"


def needs_grad(value: Any) -> Any:
    """Which tensors inside `value` require grad, mirroring its structure (True/False per tensor)."""
    if isinstance(value, torch.Tensor):
        return bool(value.requires_grad)
    if isinstance(value, dict):
        return {str(key): needs_grad(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [needs_grad(item) for item in value]
    return None


class Recorder:
    """Calls `fn` and keeps, for every call, a copy of its arguments ("args") and which of their
    tensors required grad ("grad"); `keep` limits how many calls keep their arguments (the count
    goes on)."""

    def __init__(self, fn: Callable[..., Any], keep: int = 8) -> None:
        self.fn, self.keep = fn, keep
        self.calls: list[dict] = []
        self.count = 0

    def __call__(self, *args: Any) -> Any:
        self.count += 1
        if len(self.calls) < self.keep:
            self.calls.append({"args": snapshot(list(args)), "grad": needs_grad(list(args))})
        return self.fn(*args)

    def record(self) -> dict:
        return {"count": self.count, "calls": self.calls}


def require_image(name: str, out: Any, shape: tuple[int, ...], whose: str) -> torch.Tensor:
    """The student's result as an image tensor of `shape` (whose: "the start's", ...) in [0, 1],
    or a one-line failure that says what is wrong with it."""
    out = as_tensor(name, out).detach().float().cpu()
    if tuple(out.shape) != tuple(shape):
        fail(name, f"returned shape {tuple(out.shape)}, expected {whose} shape {tuple(shape)}")
    if not torch.isfinite(out).all():
        fail(name, "returned NaN or inf: check the step size and that the loss is finite")
    low, high = float(out.min()), float(out.max())
    if high > 20:
        fail(name, f"values run up to {high:.4g}: that looks like 0-255, return [0, 1]")
    if low < -1e-3 or high > 1 + 1e-3:
        fail(name, f"values run from {low:.3g} to {high:.3g}, outside [0, 1]: clamp the image, e.g. "
                    "with torch.no_grad(): image.clamp_(0, 1) after each step")
    return out


def mean_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean absolute difference of two tensors; inf when their shapes differ."""
    a, b = a.detach().float().cpu(), b.detach().float().cpu()
    return float((a - b).abs().mean()) if a.shape == b.shape else float("inf")
