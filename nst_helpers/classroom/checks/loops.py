"""What the checks of the two optimization loops share (notebook 03's reconstruction, notebook
05's texture synthesis): the tiny network and images they run on, the probe that runs the
student's loop with a recording loss, and the judgement of what came back.

The loop runs at 20-24 pixels on deepdream.TinyExtractor (two random convolutions), so a whole
run takes a fraction of a second and needs no VGG weights.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from .base import Mistake, as_tensor, close, fail, rand, run_student
from .deepdream import TinyExtractor
from .recording import Recorder, mean_difference, require_image, snapshot

#: The steps every loop check asks for.
STEPS = 30


def pattern(height: int, width: int) -> torch.Tensor:
    """A smooth colourful image (1, 3, height, width) in [0, 1]: the photo or the style."""
    ys, xs = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    return torch.stack([0.5 + 0.4 * torch.sin(xs * 9 + ys * 4), 0.4 + 0.3 * torch.cos(ys * 11),
                        0.6 - 0.3 * xs]).unsqueeze(0).clamp(0, 1)


def start_image(height: int, width: int) -> torch.Tensor:
    """The loops' start (1, 3, height, width): seeded noise in [0, 1]."""
    return rand(1, 3, height, width, seed=3)


def require_dict(value: Any, layers: list[str], what: str, fix: str) -> None:
    """Raise Mistake (for the student) unless `value` is a dict of tensors holding every layer."""
    if not isinstance(value, dict):
        raise Mistake(f"{what} is a {type(value).__name__}, expected a dict {{layer: tensor}}: {fix}")
    missing = [layer for layer in layers if layer not in value]
    if missing:
        raise Mistake(f"{what} has no layer {missing[0]!r}: {fix}")


def _hint(error: Exception) -> str:
    text = str(error)
    if isinstance(error, RuntimeError) and "backward through the graph a second time" in text:
        return ("the targets were computed with gradients and are reused in every step: compute them once, "
                "before the loop, under torch.no_grad() (or .detach() them)")
    if isinstance(error, RuntimeError) and "does not require grad" in text:
        return "the loss is cut off from the image: optimize a copy of start that requires grad, outside torch.no_grad()"
    return ""


def run_loop(name: str, fn: Callable, args: list, start: torch.Tensor, loss: Recorder) -> dict:
    """(In the probe) fn(*args) with `start` among args and `loss` recording: the result, whether
    the start was changed in place, and the loss's recorded calls, as plain data."""
    given = start.clone()
    args = [given if a is start else a for a in args]
    out = as_tensor(name, run_student(name, fn, *args, hint=_hint))
    return {"out": snapshot(out), "start_changed": not torch.equal(given, start), "loss": loss.record()}


def judge_loop(name: str, data: dict, *, start: torch.Tensor, given: dict[str, torch.Tensor], loss_name: str,
               measure: Callable[[torch.Tensor], float], fall: float) -> torch.Tensor:
    """(In the grader) the loop's result judged: an image of the start's shape in [0, 1], the start
    untouched, not one of the `given` images ({what: image}) handed back, `loss_name` called at least
    once a step on features that require grad, and measure(result) <= fall * measure(start).
    Returns the result."""
    if data["start_changed"]:
        fail(name, "changed `start` in place: optimize a copy, image = start.clone().requires_grad_()")
    result = as_tensor(name, data["out"])
    for what, image in given.items():
        if mean_difference(result, image) < 1e-6:
            fail(name, f"returned {what} itself: start from `start` and optimize it")
        if result.shape == image.shape != start.shape:
            fail(name, f"returned {what}'s shape {tuple(image.shape)}: optimize a copy of `start`, whose shape "
                        f"{tuple(start.shape)} the result has")
    out = require_image(name, data["out"], tuple(start.shape), "the start's")
    if mean_difference(out, start) < 1e-6:
        fail(name, "returned the start unchanged: the optimizer must update the image you return "
                    "(image = start.clone().requires_grad_(), optimizer = torch.optim.Adam([image], lr=0.05))")
    record = data["loss"]
    if record["count"] == 0:
        fail(name, f"never called {loss_name}: compute the loss with it in every step")
    if record["count"] < STEPS:
        fail(name, f"called {loss_name} {record['count']} times for steps={STEPS}: compute the loss once per "
                    "step, inside the loop")
    grads = record["calls"][0]["grad"][0]
    if not (isinstance(grads, dict) and any(grads.values())):
        fail(name, f"the features you pass to {loss_name} do not require grad, so no gradient reaches the image: "
                    "compute them from the image being optimized, outside torch.no_grad()")
    before, after = measure(start), measure(out)
    if not after <= fall * before:
        fail(name, f"after {STEPS} steps the loss went from {before:.4g} to {after:.4g}, not below {fall:g} times "
                    "its start: call optimizer.zero_grad() before backward(), step after it, and take a "
                    "learning rate like 0.05 for Adam")
    return out


def judge_targets(name: str, data: dict, expected: dict[str, torch.Tensor], what: str, source: str,
                  wrong: dict[str, dict[str, torch.Tensor]]) -> None:
    """(In the grader) the targets the loop passed as the loss's second argument: detached, and equal
    to `expected` ({layer: tensor}, `what` of the `source` image); `wrong` ({whose: targets}) names
    known wrong sources."""
    calls = data["loss"]["calls"]
    if not calls:
        return  # judge_loop says so
    given, flags = calls[0]["args"][1], calls[0]["grad"][1]
    if any(flags.values()):
        fail(name, f"the targets require grad: compute the {source}'s {what} once, before the loop, under "
                    "torch.no_grad() (or .detach() them)")

    def same(found: dict[str, torch.Tensor]) -> bool:
        return all(close(given[k], found[k], rtol=1e-4, atol=1e-6) for k in expected)
    if same(expected):
        return
    whose = next((whose for whose, found in wrong.items() if same(found)), None)
    fail(name, f"the targets are the {whose}'s {what}, not the {source}'s" if whose else
          f"the targets are not the {source}'s {what}: compute them once, before the loop, from "
          f"extractor.features({source}, layers), and pass them as the loss's second argument")


def extractor_features(image: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
    """The tiny network's features of `image`, without gradients."""
    with torch.no_grad():
        return TinyExtractor().features(image, layers)


def passed(name: str, message: str, show: bool, images: dict[str, torch.Tensor]) -> None:
    """The "✓" line, and with show=True the images (start, target, result) side by side."""
    print(f"✓ {name}: {message}")
    if show:
        from ...notebook.plots import show_images
        show_images(images, suptitle="on a tiny random network")
