"""Check for notebook 03: the L-BFGS closure."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from .base import Mistake, close, fail, function_name, rand, run_probe, run_student

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


def _lbfgs_run(make_closure: Callable, name: str, steps: int = 20) -> tuple[list[float], torch.Tensor]:
    """The loss after each of `steps` L-BFGS steps with make_closure's closure, and the final image."""
    start, objective = _quadratic()
    image = start.clone().requires_grad_()
    optimizer = torch.optim.LBFGS([image], lr=1.0, max_iter=1)
    closure = run_student(name, make_closure, optimizer, image, objective)
    losses = []
    for _ in range(steps):
        run_student(name, optimizer.step, closure)
        losses.append(objective(image.detach()).item())
    return losses, image.detach().clone()


def _as_float(value: Any) -> float | None:
    try:
        return float(value.detach() if isinstance(value, torch.Tensor) else value)
    except (TypeError, ValueError, RuntimeError):
        return None


def _observe(name: str, closure: Callable, optimizer: torch.optim.Optimizer, image: torch.Tensor) -> dict:
    """Call closure() directly, as L-BFGS would: what it returned, how many backward passes reached
    the image, and image.grad afterwards."""
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
    return {"returned": "none" if value is None else type(value).__name__, "value": _as_float(value),
            "backward_passes": len(backward_passes),
            "grad": None if image.grad is None else image.grad.detach().clone()}


def lbfgs_closure_probe(make_closure: Callable) -> dict:
    """Everything the check needs to know about make_closure, as plain data: what it returned;
    for two direct calls of the closure, what each returned, its backward passes and image.grad;
    the losses of 20 L-BFGS steps with it and the final image."""
    name = function_name(make_closure, "make_closure")
    start, objective = _quadratic()
    image = start.clone().requires_grad_()
    optimizer = torch.optim.LBFGS([image], lr=1.0, max_iter=1)
    closure = run_student(name, make_closure, optimizer, image, objective)
    if closure is None or isinstance(closure, (torch.Tensor, int, float)) or not callable(closure):
        kind = "none" if closure is None else "number" if isinstance(closure, (torch.Tensor, int, float)) else "other"
        return {"made": kind, "type": type(closure).__name__}
    calls = [_observe(name, closure, optimizer, image) for _ in range(2)]
    try:
        losses, final = _lbfgs_run(make_closure, name)
    except AssertionError as failure:  # judged after the direct calls, which say more
        return {"made": "callable", "type": type(closure).__name__, "calls": calls, "run_failed": str(failure)}
    return {"made": "callable", "type": type(closure).__name__, "calls": calls, "losses": losses, "final": final,
            "run_failed": ""}


def _judge_call(name: str, observed: dict, loss: torch.Tensor, grad: torch.Tensor, call: str) -> None:
    """Is one direct call of the closure right: the loss returned, one backward pass, fresh gradient?"""
    if observed["returned"] == "none":
        fail(name, "the closure returned None: return the loss, L-BFGS needs its value")
    value = observed["value"]
    if value is None:
        fail(name, f"the closure returned a {observed['returned']}: return the loss, a scalar tensor")
    if not math.isclose(value, loss.item(), rel_tol=1e-4):
        fail(name, f"the closure returned {value:.5g}, but objective(image) is {loss.item():.5g}: "
                    "return the loss you called backward() on")
    if not observed["backward_passes"]:
        fail(name, f"no gradient reached the image in the {call} call of the closure: call "
                    "loss.backward() on loss = objective(image), so that L-BFGS gets the gradient")
    if observed["backward_passes"] > 1:
        fail(name, "the closure called backward() more than once: call it once per closure call")
    image_grad = observed["grad"]
    if image_grad is None or not bool(image_grad.abs().sum() > 0):
        fail(name, "image.grad is empty after the closure: zero the gradients first, then compute the "
                    "loss and call backward(), not the other way round")
    if close(image_grad, 2 * grad):
        fail(name, "the gradients were not zeroed: backward() adds to image.grad, so the previous "
                    "call's gradient is still in it; call optimizer.zero_grad() first")
    if not close(image_grad, grad):
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
    data = run_probe(lbfgs_closure_probe, make_closure)
    if data["made"] == "none":
        fail(name, "returned None: return the closure function itself, `return closure`")
    if data["made"] == "number":
        fail(name, "returned the loss, not a function: return `closure` itself, without calling it "
                    "(no parentheses); optimizer.step calls it")
    if data["made"] != "callable":
        fail(name, f"returned {data['type']}, expected the closure function")
    start, objective = _quadratic()
    reference = start.clone().requires_grad_()
    loss = objective(reference)
    grad, = torch.autograd.grad(loss, reference)
    for observed, call in zip(data["calls"], ("first", "second"), strict=True):
        _judge_call(name, observed, loss, grad, call)
    if data["run_failed"]:
        raise AssertionError(data["run_failed"])
    ours, final = _lbfgs_run(_reference_closure, "reference")
    theirs = [float(x) for x in data["losses"]]
    if len(theirs) != len(ours) or not close(theirs[-1], ours[-1], rtol=1e-3, atol=1e-6) \
            or not close(data["final"], final, rtol=1e-3, atol=1e-5):
        fail(name, f"after 20 L-BFGS steps the loss is {theirs[-1]:.4g} with your closure and {ours[-1]:.4g} "
                    "with ours: zero the gradients, loss = objective(image), loss.backward(), return loss")
    print(f"✓ {name}: zeroes the gradients, computes the loss, calls backward and returns the loss")
    if show:
        from ...notebook.plots import plot_losses
        plot_losses({"your closure": theirs, "reference": ours}, title="L-BFGS on a small quadratic")
