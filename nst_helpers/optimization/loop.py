"""The optimization loop: change an image until an objective is small.

One loop serves every method: content reconstruction, texture synthesis, style, AdaIN and
patch transfer, feature visualization, DeepDream (one call per octave) and the tiled pass
(one step per sweep over the tiles) differ only in the objective, the optimizer and the start.
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
from ..core.validation import check_callback, check_int, check_steps
from ..core.vgg import VGG19Features
from .objectives import Objective
from .optimizers import OptimizerChoice, check_lr, check_optimizer, make_optimizer

#: A plain loss function: loss(image) -> {term name: weighted scalar loss}; the loop minimizes their sum.
LossFunction = Callable[[torch.Tensor], Mapping[str, torch.Tensor]]
#: callback(step, image, losses) is called every `callback_every` steps and after the last one.
Callback = Callable[[int, torch.Tensor, Mapping[str, float]], None]
#: image -> image, applied before VGG19 sees it (canvas.transforms).
Transform = Callable[[torch.Tensor], torch.Tensor]

#: A step whose loss is more than this times the best so far counts as diverged and is undone
#: (for a negative best, as in gradient ascent: more than best + |best|).
DIVERGENCE_FACTOR = 2.0
#: The largest parameter change of L-BFGS's first step (at lr=1). torch's default first step is
#: tiny, which makes its curvature estimate overshoot by ~100x on the second step; a first step
#: of this size gives L-BFGS a useful estimate from the start (benchmarks/README.md).
LBFGS_FIRST_STEP = 0.05
KEEP = ("best", "last")


class StopOptimization(Exception):
    """Raise this from a callback to end the loop early and keep the best image."""


class _NonFinite(Exception):
    pass


class _Diverged(_NonFinite):
    pass


@dataclass
class OptimizationResult:
    """image: (1, 3, H, W) in [0, 1], the best iterate (or the last, for keep="last"; best_loss is
    still the lowest loss seen, which may belong to an earlier image).
    history: {"total", each term: one float per step}. stages: for runs made of several
    optimizations (octaves, coarse to fine, base and tiled pass), the image at the end of each."""

    image: torch.Tensor
    history: dict[str, list[float]]
    steps: int
    best_loss: float
    seconds: float
    interrupted: bool = False
    recoveries: int = 0
    messages: list[str] = field(default_factory=list)
    stages: list[torch.Tensor] = field(default_factory=list)


def as_loss_function(objective: Objective | LossFunction, extractor: VGG19Features | None,
                     transform: Transform | None) -> LossFunction:
    """loss(image) -> {term: value} for `optimize`: an Objective sees the extractor's features of
    the (transformed) image; a plain function is used as it is (then `transform` is not applied)."""
    if not isinstance(objective, Objective):
        if not callable(objective):
            raise ValueError(f"objective must be an Objective or a function image -> {{name: loss}}, "
                             f"got {type(objective).__name__}")
        if extractor is not None or transform is not None:
            raise ValueError("extractor and transform apply to an Objective; a plain loss function takes "
                             "the image and does its own feature extraction and transforms")
        return objective
    layers = objective.layers
    if layers and extractor is None:
        raise ValueError(f"extractor: the objective reads {', '.join(layers)}; pass extractor=nh.get_extractor()")
    if layers and hasattr(extractor, "check_layers"):
        extractor.check_layers(layers, "objective layers")
    if transform is not None and not callable(transform):
        raise ValueError(f"transform must be a function image -> image, got {type(transform).__name__}")

    def loss(image: torch.Tensor) -> dict[str, torch.Tensor]:
        if extractor is not None:
            image = image.to(extractor.device)  # a Parameterization made on another device still works
        seen = image if transform is None else transform(image)
        return objective(extractor.features(seen, layers) if layers else {}, image)
    return loss


def optimize(objective: Objective | LossFunction, init: torch.Tensor | Parameterization, steps: int, *,
             extractor: VGG19Features | None = None, transform: Transform | None = None,
             optimizer: OptimizerChoice = "lbfgs", lr: float | None = None, callback: Callback | None = None,
             callback_every: int = 10, progress: bool = True, desc: str = "optimizing",
             max_recoveries: int = 10, divergence_guard: bool | None = None,
             first_step: float | None = LBFGS_FIRST_STEP, clamp: bool = True,
             keep: str = "best", step_offset: int = 0) -> OptimizationResult:
    """Minimize the sum of the objective's terms over the image for `steps` steps.

    objective: an Objective (its terms see ``extractor.features`` of ``transform(image)``; TV-like
        terms see the image itself), or a plain function image -> {name: loss}, e.g. your own.
    init: an image (1, 3, H, W) in [0, 1], optimized pixel by pixel, or any Parameterization.
    optimizer: "lbfgs" (torch.optim.LBFGS, one evaluation per step), "adam", or a factory
        (params, lr) -> torch.optim.Optimizer such as optimizers.NormalizedGradient (give `lr`).
    step_offset: steps already done by earlier parts of a longer run (octaves, sizes, a base
        pass): the callback and the messages count on from there.
    A loss function may backpropagate parts of its loss itself (the tiled pass does, tile by
    tile) and return them detached; the loop backpropagates whatever still has a graph.
    Pixels are clamped to [0, 1] after every step (clamp=False leaves them free; the returned
    image is still clamped). L-BFGS's first step moves no parameter more than `first_step` * lr
    (None: torch's own first step, which is tiny and makes the second overshoot). A NaN/inf
    loss or gradient, or a loss over twice the best so far (L-BFGS's early steps can overshoot
    wildly; divergence_guard=False lets such a step stand), sends the image
    back to the best iterate with half the learning rate, or a tenth of it when the previous
    recovery was at most one step earlier; after `max_recoveries` such failures in a row the
    loop stops.
    Ctrl-C (KeyboardInterrupt) or StopOptimization from the callback ends the loop
    early; either way the best image so far is returned (keep="last": the current one). The
    divergence guard is off when a transform is given (divergence_guard=None), since a loss that
    changes from step to step may rise above the best; NaN and inf are always caught.
    """
    check_optimizer(optimizer)
    check_steps(steps)
    lr = check_lr(lr, optimizer)
    if isinstance(callback_every, bool) or not isinstance(callback_every, int) or callback_every <= 0:
        raise ValueError(f"callback_every must be a positive integer, got {callback_every!r}")
    check_callback(callback)
    check_int(step_offset, "step_offset", 0)
    if keep not in KEEP:
        raise ValueError(f"keep must be one of {KEEP}, got {keep!r}")
    if first_step is not None and not (isinstance(first_step, (int, float)) and not isinstance(first_step, bool)
                                       and math.isfinite(first_step) and first_step > 0):
        raise ValueError(f"first_step must be a positive number or None, got {first_step!r}")
    loss_function = as_loss_function(objective, extractor, transform)
    if divergence_guard is None:
        divergence_guard = transform is None

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
        terms = loss_function(param())
        total = sum(terms.values())
        if total.requires_grad:
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
        first_step * lr, and leave the evaluation for opt.step to reuse."""
        pending.append(closure())
        grads = [p.grad.abs() for p in params if p.grad is not None]
        g_max = max(g.max() for g in grads).item() if grads else 0.0
        if g_max > 0:
            g_sum = sum(g.sum() for g in grads).item()  # torch's first step is lr * g / max(|g|_1, 1)
            opt.param_groups[0]["lr"] = lr * first_step * max(g_sum, 1.0) / g_max

    opt = make_optimizer(optimizer, params, lr)
    fresh = optimizer == "lbfgs" and first_step is not None
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
                    note(f"step {step_offset + step + 1}: loss is {bad.args[0]} again after {max_recoveries} "
                         "recoveries; stopping with the best image so far")
                    break
                lr /= 2 if in_a_row == 1 else 10
                pending.clear()
                opt = make_optimizer(optimizer, params, lr)
                fresh = optimizer == "lbfgs" and first_step is not None
                what = "jumped to" if isinstance(bad, _Diverged) else "became"
                message = (f"step {step_offset + step + 1}: loss {what} {bad.args[0]:.4g}; went back to the best image "
                           f"(loss {best_loss:.4g}) and lowered the learning rate to {lr:.3g}")
                if isinstance(bad, _Diverged):
                    messages.append(message)  # routine for L-BFGS: recorded, not shouted
                else:
                    note(message)
                continue
            if clamp:
                param.project_()
            step += 1
            for key, value in last.items():
                history.setdefault(key, []).append(value)
            bar.set_postfix({k: f"{v:.3g}" for k, v in last.items()}, refresh=False)
            bar.update(1)
            if callback is not None and (step % callback_every == 0 or step == steps):
                with torch.no_grad():
                    callback(step_offset + step, param().detach(), dict(last))
    except KeyboardInterrupt:
        interrupted = True
        note(f"interrupted at step {step_offset + step}; returning the {'best' if keep == 'best' else 'current'} image so far")
    except StopOptimization:
        interrupted = True
    finally:
        bar.close()

    with torch.no_grad():
        current_ok = all(bool(torch.isfinite(p).all()) for p in params)
        if math.isfinite(best_loss) and (keep == "best" or not current_ok):
            for p, saved in zip(params, best_params):
                p.copy_(saved)
        image = torch.nan_to_num(param().detach(), nan=0.5).clamp(0, 1)
    return OptimizationResult(image=image, history=history, steps=step, best_loss=best_loss,
                              seconds=time.perf_counter() - start, interrupted=interrupted,
                              recoveries=recoveries, messages=messages)
