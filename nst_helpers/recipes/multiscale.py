"""Coarse-to-fine style transfer: solve a small version first, then enlarge it as the start of
the next size. The large structures settle where steps are cheap; the expensive full-size
steps only refine detail."""
from __future__ import annotations

import time
from typing import Any, Sequence

import torch

from ..core.images import resize
from ..core.validation import check_image
from ..methods.gatys import style_transfer
from ..methods.styles import as_style_list
from ..optimization.loop import OptimizationResult


def multiscale_transfer(content: torch.Tensor, style: torch.Tensor | Sequence[torch.Tensor], *, sizes: Sequence[int] = (128, 256),
                        steps: int | Sequence[int] = 150, **transfer_kwargs: Any) -> OptimizationResult:
    """Run style_transfer at each long side in `sizes` (increasing), starting each from the
    previous result enlarged. content, style: (1, 3, H, W) in [0, 1]; both are scaled by the
    same factor at each size, so the last size sees the style exactly as a single-size run would.

    steps: one count for every size, or one per size. Other keyword arguments go to
    style_transfer (init applies to the first size only). Returns the last size's result, with
    the histories of all sizes joined, .steps and .seconds summed.
    """
    check_image(content, "content")
    styles = as_style_list(style)
    for image in styles:
        check_image(image, "style")
    sizes = list(sizes)
    if not sizes or any(not isinstance(s, int) or s < 16 for s in sizes) or sorted(sizes) != sizes:
        raise ValueError(f"sizes must be increasing integers >= 16, got {sizes!r}")
    counts = [steps] * len(sizes) if isinstance(steps, int) else list(steps)
    if len(counts) != len(sizes):
        raise ValueError(f"steps: {len(counts)} counts for {len(sizes)} sizes")
    final = max(content.shape[-2:])
    history: dict[str, list[float]] = {}
    total_steps, start, result = 0, time.perf_counter(), None
    for size, count in zip(sizes, counts):
        factor = size / final
        content_s = resize(content, size) if size != final else content
        style_s = [resize(s, max(16, round(max(s.shape[-2:]) * factor))) if size != final else s for s in styles]
        if result is not None:
            transfer_kwargs["init"] = resize(result.image, tuple(content_s.shape[-2:]))
        result = style_transfer(content_s, style_s if len(styles) > 1 else style_s[0], steps=count,
                                **transfer_kwargs)
        for key, values in result.history.items():
            history.setdefault(key, []).extend(values)
        total_steps += result.steps
        if result.interrupted:
            break
    assert result is not None
    result.history, result.steps, result.seconds = history, total_steps, time.perf_counter() - start
    return result
