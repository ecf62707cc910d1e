"""The optimization loop: change an image until an objective is small.

One loop serves every notebook: content reconstruction, texture synthesis, style transfer
and feature visualization differ only in the objective they pass in.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch
from tqdm.auto import tqdm

from ..canvas.parameterizations import Parameterization, PixelImage

#: objective(image) -> {term name: weighted scalar loss}; the loop minimizes their sum.
Objective = Callable[[torch.Tensor], Mapping[str, torch.Tensor]]
#: callback(step, image, losses) is called every `callback_every` steps and after the last one.
Callback = Callable[[int, torch.Tensor, Mapping[str, float]], None]

OPTIMIZERS = ("lbfgs", "adam")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
#: A step whose loss is more than this times the best so far counts as diverged and is undone
#: (for a negative best, as in gradient ascent: more than best + |best|).
DIVERGENCE_FACTOR = 2.0
#: The largest parameter change of L-BFGS's first step (at lr=1). torch's default first step is
#: tiny, which makes its curvature estimate overshoot by ~100x on the second step; a first step
#: of this size gives L-BFGS a useful estimate from the start (benchmarks/README.md).
LBFGS_FIRST_STEP = 0.05
#: Steps L-BFGS remembers. 20 ends within 0.3 % of 50 (and of 100) after 200-500 steps
#: (benchmarks/README.md), costs 40 image-sized buffers instead of 100, and on a GPU, where
#: torch's L-BFGS waits for the device once per remembered step, it is 1.5x faster per step.
LBFGS_HISTORY = 20


class StopOptimization(Exception):
    """Raise this from a callback to end the loop early and keep the best image."""


class _NonFinite(Exception):
    pass


class _Diverged(_NonFinite):
    pass


@dataclass
class OptimizationResult:
    """image: best iterate, (1, 3, H, W) in [0, 1]. history: {"total", each term: one float per step}."""

    image: torch.Tensor
    history: dict[str, list[float]]
    steps: int
    best_loss: float
    seconds: float
    interrupted: bool = False
    recoveries: int = 0
    messages: list[str] = field(default_factory=list)


def _make_optimizer(name: str, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    if name == "lbfgs":
        # One function evaluation per step, and no early stop: run exactly the steps asked for.
        return torch.optim.LBFGS(params, lr=lr, max_iter=1, history_size=LBFGS_HISTORY,
                                 tolerance_grad=-1.0, tolerance_change=-1.0)
    return torch.optim.Adam(params, lr=lr)


def optimize(objective: Objective, init: torch.Tensor | Parameterization, steps: int, *,
             optimizer: str = "lbfgs", lr: float | None = None, callback: Callback | None = None,
             callback_every: int = 10, progress: bool = True, desc: str = "optimizing",
             max_recoveries: int = 10, divergence_guard: bool = True) -> OptimizationResult:
    """Minimize ``sum(objective(image).values())`` over the image for `steps` steps.

    init: an image (1, 3, H, W) in [0, 1], optimized pixel by pixel, or any Parameterization.
    optimizer: "lbfgs" (torch.optim.LBFGS, one evaluation per step) or "adam".
    Pixels are clamped to [0, 1] after every step. A NaN/inf loss or gradient, or a loss
    over twice the best so far (L-BFGS's early steps can overshoot wildly), sends the image
    back to the best iterate with half the learning rate, or a tenth of it when the previous
    recovery was at most one step earlier; after `max_recoveries` such failures in a row the
    loop stops.
    Ctrl-C (KeyboardInterrupt) or StopOptimization from the callback ends the loop
    early; either way the best image so far is returned. Pass divergence_guard=False for
    objectives that change from step to step (random transforms), where a loss above the best
    is expected; NaN and inf are still caught.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    lr = DEFAULT_LR[optimizer] if lr is None else lr
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if callback_every <= 0:
        raise ValueError(f"callback_every must be positive, got {callback_every!r}")

    param = init if isinstance(init, Parameterization) else PixelImage(init)
    params = param.parameters()
    best_params = [p.detach().clone() for p in params]
    best_loss = math.inf
    history: dict[str, list[float]] = {}
    messages: list[str] = []
    last: dict[str, float] = {}
    pending: list[torch.Tensor] = []  # a loss already evaluated at the current parameters

    def closure() -> torch.Tensor:
        nonlocal best_loss
        if pending:
            return pending.pop()
        opt.zero_grad(set_to_none=True)
        terms = objective(param())
        total = sum(terms.values())
        total.backward()
        for p in params:  # bf16 convolutions can hand back strided gradients; L-BFGS needs flat ones
            if p.grad is not None and not p.grad.is_contiguous():
                p.grad = p.grad.contiguous()
        values = torch.stack([total.detach(), *(t.detach() for t in terms.values())]).tolist()
        last.clear()
        last.update(zip(["total", *terms], values))
        grads_ok = all(p.grad is None or bool(torch.isfinite(p.grad).all()) for p in params)
        if not (math.isfinite(values[0]) and grads_ok):
            raise _NonFinite(values[0])
        if divergence_guard and values[0] > best_loss + (DIVERGENCE_FACTOR - 1) * abs(best_loss):  # also right for losses < 0
            raise _Diverged(values[0])
        if values[0] < best_loss:
            best_loss = values[0]
            for saved, p in zip(best_params, params):
                saved.copy_(p.detach())
        return total

    def note(message: str) -> None:
        messages.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)

    def size_first_lbfgs_step() -> None:
        """Evaluate once, set lr so the first step moves no parameter more than
        LBFGS_FIRST_STEP * lr, and leave the evaluation for opt.step to reuse."""
        pending.append(closure())
        grads = [p.grad.abs() for p in params if p.grad is not None]
        g_max = max(g.max() for g in grads).item() if grads else 0.0
        if g_max > 0:
            g_sum = sum(g.sum() for g in grads).item()  # torch's first step is lr * g / max(|g|_1, 1)
            opt.param_groups[0]["lr"] = lr * LBFGS_FIRST_STEP * max(g_sum, 1.0) / g_max

    opt = _make_optimizer(optimizer, params, lr)
    fresh = optimizer == "lbfgs"
    recoveries, in_a_row, last_recovery, step, interrupted = 0, 0, -10, 0, False
    start = time.perf_counter()
    bar = tqdm(total=steps, desc=desc, disable=not progress, leave=True)
    try:
        while step < steps:
            try:
                if fresh:
                    size_first_lbfgs_step()
                    fresh = False
                opt.step(closure)
                opt.param_groups[0]["lr"] = lr
            except _NonFinite as bad:
                recoveries += 1
                in_a_row = in_a_row + 1 if step - last_recovery <= 1 else 1
                last_recovery = step
                with torch.no_grad():
                    for p, saved in zip(params, best_params):
                        p.copy_(saved)
                if in_a_row > max_recoveries:
                    note(f"step {step + 1}: loss is {bad.args[0]} again after {max_recoveries} "
                         "recoveries; stopping with the best image so far")
                    break
                lr /= 2 if in_a_row == 1 else 10
                pending.clear()
                opt = _make_optimizer(optimizer, params, lr)
                fresh = optimizer == "lbfgs"
                what = "jumped to" if isinstance(bad, _Diverged) else "became"
                message = (f"step {step + 1}: loss {what} {bad.args[0]:.4g}; went back to the best image "
                           f"(loss {best_loss:.4g}) and lowered the learning rate to {lr:.3g}")
                if isinstance(bad, _Diverged):
                    messages.append(message)  # routine for L-BFGS: recorded, not shouted
                else:
                    note(message)
                continue
            param.project_()
            step += 1
            for key, value in last.items():
                history.setdefault(key, []).append(value)
            bar.set_postfix({k: f"{v:.3g}" for k, v in last.items()}, refresh=False)
            bar.update(1)
            if callback is not None and (step % callback_every == 0 or step == steps):
                with torch.no_grad():
                    callback(step, param().detach(), dict(last))
    except KeyboardInterrupt:
        interrupted = True
        note(f"interrupted at step {step}; returning the best image so far")
    except StopOptimization:
        interrupted = True
    finally:
        bar.close()

    with torch.no_grad():
        if math.isfinite(best_loss):
            for p, saved in zip(params, best_params):
                p.copy_(saved)
        image = torch.nan_to_num(param().detach(), nan=0.5).clamp(0, 1)
    return OptimizationResult(image=image, history=history, steps=step, best_loss=best_loss,
                              seconds=time.perf_counter() - start, interrupted=interrupted,
                              recoveries=recoveries, messages=messages)
