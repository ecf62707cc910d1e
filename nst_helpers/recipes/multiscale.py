"""Coarse-to-fine style transfer: solve a small version first, then enlarge it as the start of
the next size. The large structures settle where steps are cheap; the expensive full-size
steps only refine detail."""
from __future__ import annotations

import time
from typing import Sequence

import torch

from ..core.images import MIN_SIDE, resize
from ..core.validation import check_image
from ..methods.gatys import DEFAULT, TransferSettings, transfer_with
from ..methods.styles import as_style_list
from ..optimization.loop import Callback, OptimizationResult, Transform


def multiscale_transfer(content: torch.Tensor, style: torch.Tensor | Sequence[torch.Tensor], *,
                        sizes: Sequence[int] = (128, 256), steps: int | Sequence[int] = 150,
                        settings: TransferSettings = DEFAULT, style_blend: Sequence[float] | None = None,
                        style_masks: Sequence[torch.Tensor] | None = None, transform: Transform | None = None,
                        callback: Callback | None = None, callback_every: int = 10,
                        progress: bool = True) -> OptimizationResult:
    """Run the style transfer at each long side in `sizes` (increasing), starting each from the
    previous result enlarged. content, style: (1, 3, H, W) in [0, 1]; both are scaled by the
    same factor at each size, so the last size sees the style exactly as a single-size run would.

    steps: one count for every size, or one per size. settings: the transfer's choices
    (TransferSettings; its init applies to the first size only). style_blend, style_masks and
    transform: as for style_transfer, at every size (masks are resized to each size). callback(step, image, losses)
    sees the steps of all sizes, counted across them; a stop ends the whole run. Returns the
    last size's result, with the histories of all sizes joined, .steps and .seconds summed, and
    .stages the result of each size.
    """
    check_image(content, "content")
    styles = as_style_list(style)
    for image in styles:
        check_image(image, "style")
    sizes = list(sizes)
    if not sizes or any(not isinstance(s, int) or s < MIN_SIDE for s in sizes) or sorted(sizes) != sizes:
        raise ValueError(f"sizes must be increasing integers >= {MIN_SIDE}, got {sizes!r}")
    counts = [steps] * len(sizes) if isinstance(steps, int) else list(steps)
    if len(counts) != len(sizes):
        raise ValueError(f"steps: {len(counts)} counts for {len(sizes)} sizes")
    if not isinstance(settings, TransferSettings):
        raise ValueError(f"settings: expected a TransferSettings, got {type(settings).__name__}")
    final = max(content.shape[-2:])
    history: dict[str, list[float]] = {}
    total_steps, start, result, stages, recoveries, messages = 0, time.perf_counter(), None, [], 0, []
    for size, count in zip(sizes, counts):
        factor = size / final
        content_s = resize(content, size) if size != final else content
        style_s = [resize(s, max(MIN_SIDE, round(max(s.shape[-2:]) * factor))) if size != final else s for s in styles]
        if result is not None:
            settings = settings.replace(init=resize(result.image, tuple(content_s.shape[-2:])))
        result = transfer_with(settings, content_s, style_s if len(styles) > 1 else style_s[0], steps=count,
                               style_blend=style_blend, style_masks=style_masks, transform=transform,
                               callback=callback, callback_every=callback_every, step_offset=total_steps,
                               progress=progress)
        recoveries, messages = recoveries + result.recoveries, messages + result.messages
        for key, values in result.history.items():
            history.setdefault(key, []).extend(values)
        total_steps += result.steps
        stages.append(result.image)
        if result.interrupted:
            break
    assert result is not None
    result.history, result.steps, result.seconds = history, total_steps, time.perf_counter() - start
    result.stages, result.recoveries, result.messages = stages, recoveries, messages
    return result
