"""The check for notebook 08's second exercise: DeepDream's octave loop (the image pyramid).

The student's loop gets a fake one-octave dream, `step_fn`, that adds a fixed smooth pattern,
so the check can tell from the result how much dreamed detail was carried up, and whether the
photo's own fine detail (a faint checkerboard) survived. It also checks the sizes the loop
visited. A known mistake gets a one-line AssertionError, success a "✓" line.
"""
from __future__ import annotations

from typing import Callable

import torch

from ...core.images import resize
from ...methods.deepdream import octave_sizes
from .base import as_tensor, fail, function_name, run_probe, run_student
from .recording import Recorder, mean_difference, require_image, snapshot

OctaveLoop = Callable[[torch.Tensor, Callable[[torch.Tensor], torch.Tensor], int, float], torch.Tensor]
SIZE, OCTAVES, SCALE = (36, 48), 3, 1.5
#: How strongly the fake dream adds its pattern, and the photo's fine checkerboard.
DREAM, CHECKER = 0.05, 0.06


def _grid(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel centres in [0, 1], so that a pattern drawn at two sizes agrees after resizing."""
    ys = (torch.arange(height) + 0.5) / height
    xs = (torch.arange(width) + 0.5) / width
    return torch.meshgrid(ys, xs, indexing="ij")


def _pattern(height: int, width: int) -> torch.Tensor:
    """What one fake octave of dreaming adds: smooth, one colour shift per channel, (1, 3, h, w)."""
    ys, xs = _grid(height, width)
    wave = torch.sin(2 * torch.pi * (xs + 0.5 * ys))
    return torch.stack([wave, -wave, 0.5 * wave]).unsqueeze(0)


def _checker(height: int, width: int) -> torch.Tensor:
    """The photo's fine detail, a checkerboard of 2x2-pixel squares: gone once shrunk and enlarged."""
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return (((ys // 2 + xs // 2) % 2) * 2.0 - 1).expand(1, 3, height, width)


def _photo() -> torch.Tensor:
    ys, xs = _grid(*SIZE)
    smooth = torch.stack([0.4 + 0.2 * xs, 0.5 - 0.1 * ys, 0.45 + 0.1 * xs * ys]).unsqueeze(0)
    return smooth + CHECKER * _checker(*SIZE)


def _fake_dream(image: torch.Tensor) -> torch.Tensor:
    return image + DREAM * _pattern(*image.shape[-2:]).to(image)


def octave_probe(fn: OctaveLoop) -> dict:
    """The student's loop with a recording fake dream: the result and every image step_fn got."""
    name = function_name(fn, "dream_octaves")
    step = Recorder(_fake_dream, keep=2 * OCTAVES)
    photo = _photo()
    given = photo.clone()
    out = as_tensor(name, run_student(name, fn, given, step, OCTAVES, SCALE))
    return {"out": snapshot(out), "photo_changed": not torch.equal(given, photo),
            "inputs": [call["args"][0] for call in step.calls], "count": step.count}


def _sizes(name: str, inputs: list, expected: list[tuple[int, int]]) -> None:
    if len(inputs) != len(expected):
        fail(name, f"called step_fn {len(inputs)} times for octaves={OCTAVES}: once per octave, smallest first")
    sizes = [tuple(x.shape[-2:]) if isinstance(x, torch.Tensor) else None for x in inputs]
    if any(s is None for s in sizes):
        fail(name, "passed step_fn something that is not an image tensor: pass the image (1, 3, h, w)")

    def near(a: tuple, b: tuple) -> bool:
        return all(abs(p - q) <= 1 for p, q in zip(a, b))
    if all(near(s, e) for s, e in zip(sizes, expected)):
        return
    if all(near(s, e) for s, e in zip(sizes, expected[::-1])):
        fail(name, "dreamed largest first: start at the smallest octave and end at the full size")
    if all(near(s, SIZE) for s in sizes):
        fail(name, "every octave ran at the full size: shrink the photo for each octave, by scale ** k")
    fail(name, f"step_fn saw the sizes {sizes}, expected about {expected} (H / scale ** k, smallest first)")


def check_dream_octaves(fn: OctaveLoop, show: bool = False) -> None:
    """fn(image (1, 3, H, W) in [0, 1], step_fn, octaves, scale) must run DeepDream on an image pyramid:
    `octaves` sizes, each `scale` times the one before and the last the image's own (H, W), smallest
    first; at each size step_fn(image at that size) -> the dreamed image at that size; the detail
    dreamed so far is carried up to the next size, where the photo, at that size, gets it added.
    Returns the dream at the full size, (1, 3, H, W). The image must not be changed in place.
    The check's step_fn adds a fixed smooth pattern, so the result must hold it once per octave
    and all of the photo's own fine detail. show: draw the photo and your result."""
    name = function_name(fn, "dream_octaves")
    photo = _photo()
    data = run_probe(octave_probe, fn)
    if data["photo_changed"]:
        fail(name, "changed the image in place: compute new tensors")
    inputs = data["inputs"]
    if data["count"] == 0:
        fail(name, "never called step_fn: call it once per octave on the image at that size")
    _sizes(name, inputs, octave_sizes(*SIZE, OCTAVES, SCALE))
    if mean_difference(inputs[0], resize(photo, tuple(inputs[0].shape[-2:]))) > 0.1:
        fail(name, "the first octave did not dream on the photo shrunk to the smallest size")
    out = require_image(name, data["out"], tuple(photo.shape), "the image's")
    if mean_difference(out, photo) < 1e-6:
        fail(name, "returned the image unchanged: return the dream of the last octave")
    if mean_difference(out, inputs[-1]) < 1e-6:
        fail(name, "returned what the last octave started from: return step_fn's result")
    residual = out - photo
    pattern, checker = _pattern(*SIZE), _checker(*SIZE)
    carried = float((residual * pattern).sum() / pattern.pow(2).sum() / DREAM)
    kept = 1 + float((residual * checker).sum() / checker.pow(2).sum() / CHECKER)
    if kept < 0.7:
        fail(name, f"the photo's fine detail is lost (only {kept:.0%} of it is left): carry up only the detail, "
                    "dream minus the photo at that size, and add it to the photo resized to the next size, not "
                    "the whole dreamed image enlarged")
    if abs(carried - 1) < 0.3:
        fail(name, "the result holds only the last octave's dream: carry the detail (dream minus the photo at "
                    "that size) up to the next octave, enlarged, and add it to the photo at that size")
    if abs(carried - OCTAVES) > 0.3:
        fail(name, f"the result holds the dream of {carried:.2g} octaves, expected {OCTAVES}: the detail is the "
                    "dream minus the photo at that size (not minus the octave's own start), so that it keeps what "
                    "all earlier octaves added")
    print(f"✓ {name}: sizes {octave_sizes(*SIZE, OCTAVES, SCALE)}, detail carried up through all {OCTAVES} "
          "octaves, and the photo's own fine detail kept")
    if show:
        from ...notebook.plots import show_images
        show_images({"photo": photo.clamp(0, 1), "your result": out}, suptitle="with a fake dream that adds one "
                    "smooth pattern per octave")
