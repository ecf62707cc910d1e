"""Named settings for style transfer, and the recipe that notebook 07 ends with.

A preset is a dict of style_transfer keyword arguments. "gatys" is the paper's method (no TV
term); "best" is what notebook 07's before/after experiments kept, run by best_style_transfer.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from ..core.images import resize
from ..core.validation import check_image, check_steps
from ..methods.gatys import GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, style_transfer
from ..optimization.loop import OptimizationResult
from .colour import preserve_colour
from .multiscale import multiscale_transfer

PRESETS: dict[str, dict[str, Any]] = {
    "gatys": dict(pooling="avg", content_layers=GATYS_CONTENT_LAYERS, style_layers=GATYS_STYLE_LAYERS,
                  loss_kind="mse", optimizer="lbfgs", tv_weight=0.0, init="content"),
    "best": dict(pooling="avg", content_layers=GATYS_CONTENT_LAYERS, style_layers=GATYS_STYLE_LAYERS,
                 loss_kind="mse", optimizer="lbfgs", tv_weight=3e4, init="content"),
}
#: The coarse pass of best_style_transfer runs at this fraction of the final long side.
COARSE_FRACTION = 0.5


def best_style_transfer(content: torch.Tensor, style: torch.Tensor | Sequence[torch.Tensor], *,
                        steps: int = 300, keep_colours: bool = False, **kwargs: Any) -> OptimizationResult:
    """Notebook 07's winners in one call: average pooling, ReLU outputs, content relu4_2, L-BFGS,
    MSE, a TV term, and coarse to fine (`steps` at half size, then `steps` at full size, from
    the content photo). keep_colours=True puts the content's colours back afterwards
    (colour.preserve_colour). content, style: (1, 3, H, W) RGB in [0, 1]; other keyword
    arguments override the preset and go to style_transfer. Returns the full-size result.
    """
    check_image(content, "content")
    check_steps(steps)
    long_side = max(content.shape[-2:])
    coarse = max(16 * 2, int(long_side * COARSE_FRACTION) // 16 * 16)
    sizes = [coarse, long_side] if coarse < long_side else [long_side]
    settings = {**PRESETS["best"], **kwargs}
    result = multiscale_transfer(content, style, sizes=sizes, steps=steps, **settings)
    if keep_colours:
        result.image = preserve_colour(result.image, resize(content, tuple(result.image.shape[-2:])))
    return result


def preset_transfer(preset: str, content: torch.Tensor, style: torch.Tensor | Sequence[torch.Tensor],
                    **kwargs: Any) -> OptimizationResult:
    """Run a named preset ("default", "gatys" or "best"); keyword arguments override it."""
    if preset == "best":
        return best_style_transfer(content, style, **kwargs)
    if preset == "default":
        return style_transfer(content, style, **kwargs)
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {('default', *PRESETS)}, got {preset!r}")
    return style_transfer(content, style, **{**PRESETS[preset], **kwargs})
