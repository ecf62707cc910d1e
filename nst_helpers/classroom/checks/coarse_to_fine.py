"""The check for notebook 07's second exercise, one trick written as a function: coarse to fine.

The student's function runs a style transfer at increasing sizes, each starting from the previous
result enlarged. The check hands it a fast fake `transfer` that records what it got (content,
style, init) and returns a smooth image, then checks the sizes, the style's scale and the
hand-over between sizes. A known mistake gets a one-line AssertionError, success a "✓" line.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from ...core.images import resize
from .base import Mistake, as_tensor, fail, function_name, run_probe, run_student
from .recording import Recorder, mean_difference, require_image, snapshot

Transfer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]
CoarseToFine = Callable[[torch.Tensor, torch.Tensor, Sequence[int], Transfer], torch.Tensor]
#: The content is landscape, the style portrait, so that a squashed or stretched resize shows.
CONTENT_SIZE, STYLE_SIZE, SIZES = (40, 56), (48, 36), [28, 40, 56]


def _smooth(height: int, width: int, phase: float) -> torch.Tensor:
    ys = (torch.arange(height) + 0.5) / height
    xs = (torch.arange(width) + 0.5) / width
    ys, xs = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([0.5 + 0.3 * torch.sin(3 * xs + phase), 0.5 + 0.2 * torch.cos(2 * ys + phase),
                        0.3 + 0.4 * xs * ys]).unsqueeze(0)


def _images() -> tuple[torch.Tensor, torch.Tensor]:
    return _smooth(*CONTENT_SIZE, 0.0), _smooth(*STYLE_SIZE, 1.0)


def _fake_transfer(content: torch.Tensor, style: torch.Tensor, init: torch.Tensor | None) -> torch.Tensor:
    """A stand-in for a style transfer: a smooth image of the content's size that depends on init."""
    for what, image in (("content", content), ("style", style)):
        if not isinstance(image, torch.Tensor) or image.dim() != 4 or image.shape[:2] != (1, 3):
            raise Mistake(f"transfer's {what} is not an image (1, 3, h, w): call transfer(content, style, init)")
    if init is not None and (not isinstance(init, torch.Tensor) or init.shape != content.shape):
        shape = tuple(init.shape) if isinstance(init, torch.Tensor) else type(init).__name__
        raise Mistake(f"init has shape {shape}, but the content at this size is {tuple(content.shape)}: enlarge the "
                      "previous result to the content's size at this level")
    start = init if init is not None else torch.full_like(content, 0.5)
    return 0.6 * start + 0.4 * _smooth(*content.shape[-2:], 2.0)


def coarse_to_fine_probe(fn: CoarseToFine) -> dict:
    """The student's function with a recording fake transfer: the result and every call's arguments."""
    name = function_name(fn, "coarse_to_fine")
    content, style = _images()
    transfer = Recorder(_fake_transfer, keep=2 * len(SIZES))
    out = as_tensor(name, run_student(name, fn, content.clone(), style.clone(), list(SIZES), transfer))
    return {"out": snapshot(out), "calls": [call["args"] for call in transfer.calls], "count": transfer.count}


def _scaled(shape: tuple[int, int], factor: float) -> tuple[int, int]:
    return round(shape[0] * factor), round(shape[1] * factor)


def _near(a: Sequence[int], b: Sequence[int]) -> bool:
    return len(a) == len(b) and all(abs(p - q) <= 1 for p, q in zip(a, b))


def _judge_sizes(name: str, calls: list) -> None:
    final = max(CONTENT_SIZE)
    contents = [tuple(call[0].shape[-2:]) for call in calls]
    styles = [tuple(call[1].shape[-2:]) for call in calls]
    want = [_scaled(CONTENT_SIZE, s / final) for s in SIZES]
    if not all(_near(c, w) for c, w in zip(contents, want)):
        if all(_near(c, w) for c, w in zip(contents, want[::-1])):
            fail(name, "ran the sizes largest first: go through `sizes` in order, small to large")
        if all(c[0] == c[1] for c in contents):
            fail(name, f"resized the content to squares {contents}: keep its aspect ratio, its long side = size")
        fail(name, f"the content's sizes were {contents}, expected about {want}: scale it so that its long side "
                    "is each size in turn")
    want = [_scaled(STYLE_SIZE, s / final) for s in SIZES]
    if all(_near(s, w) for s, w in zip(styles, want)):
        return
    if all(s == STYLE_SIZE for s in styles):
        fail(name, "kept the style at its full size at every size: scale it by the same factor as the content "
                    "(size / the content's long side), so the strokes keep their size relative to the content")
    if all(_near(s, c) for s, c in zip(styles, contents)):
        fail(name, "resized the style to the content's shape: scale it by the same factor as the content instead, "
                    "keeping the style's own aspect ratio")
    fail(name, f"the style's sizes were {styles}, expected about {want}: scale it by size / the content's long side")


def check_coarse_to_fine(fn: CoarseToFine, show: bool = False) -> None:
    """fn(content, style, sizes, transfer) must run `transfer` at each long side in `sizes`
    (increasing; the last is the content's own long side) and return the last result, the
    content's shape. transfer(content, style, init) -> a stylized image of the content's shape,
    where init=None means the transfer's own start. At each size the content is resized (aspect
    kept) so its long side is that size, the style is scaled by the same factor, and init is the
    previous size's result enlarged to the content's size there (None at the first size).
    The check hands it a fast fake transfer. show: draw each size's result."""
    name = function_name(fn, "coarse_to_fine")
    content, _ = _images()
    data = run_probe(coarse_to_fine_probe, fn)
    calls = data["calls"]
    if data["count"] != len(SIZES):
        fail(name, f"called transfer {data['count']} times for {len(SIZES)} sizes: once per size")
    _judge_sizes(name, calls)
    if calls[0][2] is not None:
        fail(name, "passed an init at the first size: there is no previous result yet, pass init=None")
    results = [_fake_transfer(*call) for call in calls]
    for k in range(1, len(calls)):
        init, here = calls[k][2], calls[k][0]
        if init is None:
            fail(name, "started every size from scratch (init=None): pass the previous size's result, enlarged "
                        "to this size, as init")
        if mean_difference(init, here) < 1e-3:
            fail(name, "passed the content as init: pass the previous size's result, enlarged to this size")
        if mean_difference(init, resize(results[k - 1], tuple(here.shape[-2:]))) > 0.02:
            fail(name, f"the init at size {SIZES[k]} is not the previous size's result enlarged: keep what transfer "
                        "returned and resize it to the content's size at the next level")
    out = require_image(name, data["out"], tuple(content.shape), "the content's")
    if mean_difference(out, results[-1]) > 1e-4:
        fail(name, "did not return the last size's result: return what transfer returned at the largest size")
    print(f"✓ {name}: sizes {SIZES} in order, the style scaled with the content, each size started from the "
          "previous result enlarged")
    if show:
        from ...notebook.plots import show_images
        show_images({f"long side {s}": r.clamp(0, 1) for s, r in zip(SIZES, results)},
                    suptitle="each size's result, with a fake transfer")
