"""The check for notebook 02's third exercise: a feature-visualization loop with a transform (the
regularizer), written by the student.

The loop runs twice on a tiny random network (deepdream.TinyExtractor), 30 steps each: plainly
(transform=None) and with a Gaussian blur as the transform. Both must raise the channel's mean
activation at least fivefold and stay in [0, 1]; the blurred run must have clearly less
high-frequency energy than the plain one. A known mistake gets a one-line AssertionError,
success one line starting with "✓".
"""
from __future__ import annotations

from typing import Callable

import torch

from ...canvas.transforms import gaussian_blur
from ...core.measures import high_frequency_energy
from .base import as_tensor, fail, function_name, randn, run_probe, run_student
from .deepdream import TinyExtractor
from .recording import Recorder, mean_difference, require_image, snapshot

Visualize = Callable[[object, torch.Tensor, str, int, int, Callable | None], torch.Tensor]
LAYER, CHANNEL, STEPS, SIGMA = "relu2_1", 3, 30, 1.0
#: The channel's mean activation must rise at least this many times; the blurred run's
#: high-frequency energy must be below this share of the plain run's.
RISE, SMOOTHER = 5.0, 0.6


def _start() -> torch.Tensor:
    return (0.5 + 0.05 * randn(1, 3, 32, 32, seed=5)).clamp(0, 1)


def _hint(error: Exception) -> str:
    if isinstance(error, TypeError) and "NoneType" in str(error):
        return "transform may be None: then show the extractor the image itself"
    if isinstance(error, RuntimeError) and "does not require grad" in str(error):
        return ("the objective is cut off from the image: pass the image being optimized itself (no .detach(), "
                "no torch.no_grad()) through transform and the extractor")
    return ""


def visualization_probe(fn: Visualize) -> dict:
    """Runs the student's loop plainly and with a recording blur: both results and the blur's calls."""
    name = function_name(fn, "visualize_channel")
    start = _start()
    runs = {}
    blur = Recorder(gaussian_blur(SIGMA), keep=1)
    for label, transform in (("plain", None), ("blurred", blur)):
        given = start.clone()
        out = run_student(name, fn, TinyExtractor(), given, LAYER, CHANNEL, STEPS, transform, hint=_hint)
        runs[label] = snapshot(as_tensor(name, out))
        if not torch.equal(given, start):
            return {"start_changed": True}
    return {"start_changed": False, **runs, "transform": blur.record()}


def _activation(image: torch.Tensor) -> torch.Tensor:
    """Each channel's mean activation at LAYER, (C,)."""
    with torch.no_grad():
        return TinyExtractor().features(image, [LAYER])[LAYER].mean(dim=(0, 2, 3))


def _judge_run(name: str, out: torch.Tensor, start: torch.Tensor, label: str) -> None:
    before, after = _activation(start), _activation(out)
    if after[CHANNEL] < before[CHANNEL]:
        fail(name, f"the channel's mean activation fell ({before[CHANNEL]:.3g} -> {after[CHANNEL]:.3g}) in the {label} "
                    "run: the optimizer minimizes, so minimize minus the activation")
    rise = after - before
    top = int(rise.argmax())
    if top != CHANNEL and rise[top] > 2 * rise[CHANNEL]:
        fail(name, f"channel {top} rose most, not channel {CHANNEL}: take features[layer][:, channel], the "
                    "channel axis is the second")
    if after[CHANNEL] < RISE * before[CHANNEL]:
        fail(name, f"in {STEPS} steps the {label} run raised the channel's mean activation only from "
                    f"{before[CHANNEL]:.3g} to {after[CHANNEL]:.3g}, less than {RISE:g} times: step on every iteration "
                    "(optimizer.zero_grad(), backward(), step()) with a learning rate like 0.05 for Adam")


def check_visualize_channel(fn: Visualize, show: bool = False) -> None:
    """fn(extractor, start, layer, channel, steps, transform) must return an image (start's shape, in
    [0, 1]) that excites one channel: starting from `start` (not changed in place), `steps` steps
    that raise the channel's mean activation at `layer`, showing the extractor transform(image)
    instead of the image on every step (transform=None: the image itself), with the gradient
    flowing back through the transform. extractor.features(image, [layer]) -> {layer: (1, C, h, w)}.
    The check runs 30 steps on a tiny network, plainly and with a Gaussian blur as transform: both
    must raise the activation at least fivefold; the blur must leave less fine detail.
    show: draw the start and both results."""
    name = function_name(fn, "visualize_channel")
    start = _start()
    data = run_probe(visualization_probe, fn)
    if data["start_changed"]:
        fail(name, "changed `start` in place: optimize a copy, image = start.clone().requires_grad_()")
    plain = require_image(name, data["plain"], tuple(start.shape), "the start's")
    blurred = require_image(name, data["blurred"], tuple(start.shape), "the start's")
    if mean_difference(plain, start) < 1e-6:
        fail(name, "returned the start unchanged: the optimizer must update the image you return")
    record = data["transform"]
    if record["count"] == 0:
        fail(name, "never called transform: on every step show the extractor transform(image), not the image")
    if record["count"] < STEPS:
        fail(name, f"called transform {record['count']} times in {STEPS} steps: apply it on every step, to the "
                    "current image")
    if not record["calls"][0]["grad"][0]:
        fail(name, "the image you pass to transform does not require grad, so no gradient flows back through it: "
                    "call transform(image) on the image being optimized, outside torch.no_grad()")
    _judge_run(name, plain, start, "plain")
    _judge_run(name, blurred, start, "blurred")
    sharp, smooth = high_frequency_energy(plain), high_frequency_energy(blurred)
    if not smooth < SMOOTHER * sharp:
        fail(name, f"with a blur as transform the result has as much fine detail as without (high-frequency energy "
                    f"{smooth:.3f} vs {sharp:.3f}): give the extractor transform(image), not the image")
    print(f"✓ {name}: the channel's activation rises; the blur transform cuts the high-frequency energy from "
          f"{sharp:.3f} to {smooth:.3f}")
    if show:
        from ...notebook.plots import show_images
        show_images({"start": start, "plain": plain, "with a blur transform": blurred},
                    suptitle=f"channel {CHANNEL} of a tiny random network's {LAYER}")
