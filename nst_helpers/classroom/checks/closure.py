"""Check for notebook 03: the L-BFGS closure."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from .base import Mistake, close, fail, function_name, rand, run_student

# ---------------------------------------------------------------------------- optimization

def _quadratic() -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """A start image and an ill-conditioned quadratic objective, for 20 L-BFGS steps."""
    target = rand(1, 3, 4, 4, seed=6)
    scale = torch.logspace(-1, 1, 48).view(1, 3, 4, 4)

    def objective(image: torch.Tensor) -> torch.Tensor:
        return (scale * (image - target) ** 2).sum()
    return torch.full_like(target, 0.5), objective


def _reference_closure(optimizer: torch.optim.Optimizer, image: torch.Tensor,
                       objective: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[], torch.Tensor]:
    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = objective(image)
        loss.backward()
        return loss
    return closure


def _lbfgs_losses(make_closure: Callable, name: str, steps: int = 20) -> list[float]:
    start, objective = _quadratic()
    image = start.clone().requires_grad_()
    optimizer = torch.optim.LBFGS([image], lr=1.0, max_iter=1)
    closure = run_student(name, make_closure, optimizer, image, objective)
    losses = []
    for _ in range(steps):
        run_student(name, optimizer.step, closure)
        losses.append(objective(image.detach()).item())
    return losses


def _as_float(value: Any) -> float | None:
    try:
        return float(value.detach() if isinstance(value, torch.Tensor) else value)
    except (TypeError, ValueError, RuntimeError):
        return None


def _probe_closure(name: str, closure: Callable, optimizer: torch.optim.Optimizer, image: torch.Tensor,
                   loss: torch.Tensor, grad: torch.Tensor, call: str) -> None:
    """Call closure() directly, as L-BFGS would, and check its return value and image.grad."""
    def forbidden_step(*args: Any, **kwargs: Any) -> None:
        raise Mistake("called optimizer.step inside the closure: the closure only computes the loss and "
                       "its gradient; optimizer.step(closure) is what calls it")
    backward_passes = []
    hook = image.register_hook(lambda g: backward_passes.append(1))
    optimizer.step = forbidden_step  # type: ignore[method-assign]
    try:
        value = run_student(name, closure)
    finally:
        del optimizer.step
        hook.remove()
    if value is None:
        fail(name, "the closure returned None: return the loss, L-BFGS needs its value")
    number = _as_float(value)
    if number is None:
        fail(name, f"the closure returned a {type(value).__name__}: return the loss, a scalar tensor")
    value = number
    if not math.isclose(value, loss.item(), rel_tol=1e-4):
        fail(name, f"the closure returned {value:.5g}, but objective(image) is {loss.item():.5g}: "
                    "return the loss you called backward() on")
    if not backward_passes:
        fail(name, f"no gradient reached the image in the {call} call of the closure: call "
                    "loss.backward() on loss = objective(image), so that L-BFGS gets the gradient")
    if len(backward_passes) > 1:
        fail(name, "the closure called backward() more than once: call it once per closure call")
    if image.grad is None or not bool(image.grad.abs().sum() > 0):
        fail(name, "image.grad is empty after the closure: zero the gradients first, then compute the "
                    "loss and call backward(), not the other way round")
    if close(image.grad, 2 * grad):
        fail(name, "the gradients were not zeroed: backward() adds to image.grad, so the previous "
                    "call's gradient is still in it; call optimizer.zero_grad() first")
    if not close(image.grad, grad):
        fail(name, "image.grad after the closure is not the gradient of objective(image): zero the "
                    "gradients, compute loss = objective(image), call loss.backward() once")


def check_lbfgs_closure(make_closure: Callable, show: bool = False) -> None:
    """make_closure(optimizer, image, objective) must return a closure (a function of no arguments)
    that zeroes the gradients, computes loss = objective(image), calls loss.backward() and returns
    the loss. objective(image) -> scalar loss tensor; image is the tensor being optimized.
    Returning loss.item() also passes: L-BFGS only calls float() on the value.
    show: plot the loss over 20 L-BFGS steps with your closure and with ours.
    """
    name = function_name(make_closure, "make_closure")
    start, objective = _quadratic()
    image = start.clone().requires_grad_()
    optimizer = torch.optim.LBFGS([image], lr=1.0, max_iter=1)
    closure = run_student(name, make_closure, optimizer, image, objective)
    if closure is None:
        fail(name, "returned None: return the closure function itself, `return closure`")
    if isinstance(closure, (torch.Tensor, int, float)):
        fail(name, "returned the loss, not a function: return `closure` itself, without calling it "
                    "(no parentheses); optimizer.step calls it")
    if not callable(closure):
        fail(name, f"returned {type(closure).__name__}, expected the closure function")
    reference = image.detach().clone().requires_grad_()
    loss = objective(reference)
    grad, = torch.autograd.grad(loss, reference)
    _probe_closure(name, closure, optimizer, image, loss, grad, "first")
    _probe_closure(name, closure, optimizer, image, loss, grad, "second")

    ours, theirs = _lbfgs_losses(_reference_closure, "reference"), _lbfgs_losses(make_closure, name)
    if not close(theirs[-1], ours[-1], rtol=1e-3, atol=1e-6):
        fail(name, f"after 20 L-BFGS steps the loss is {theirs[-1]:.4g} with your closure and {ours[-1]:.4g} "
                    "with ours: zero the gradients, loss = objective(image), loss.backward(), return loss")
    print(f"✓ {name}: zeroes the gradients, computes the loss, calls backward and returns the loss")
    if show:
        from ...notebook.plots import plot_losses
        plot_losses({"your closure": theirs, "reference": ours}, title="L-BFGS on a small quadratic")
