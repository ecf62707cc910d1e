"""Several styles at once: blended by weights everywhere, or each painted into its own region.

Without masks, matching the weighted mean of the styles' Gram matrices has the same gradient as
the weighted sum of one style loss per style (the two differ by a constant), so a blend costs
no more than one style. With masks, each style is matched only where its mask is on
(losses.masked_style_loss), and where no mask is on only the content counts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F

from ..core.losses import gram_matrix, masked_style_loss, style_loss
from ..core.vgg import VGG19Features
from ..optimization.objectives import Objective


@dataclass
class StyleTargets:
    """What the style loss compares with: one Gram dict per style, the blend weights (summing
    to 1) and one (1, 1, H, W) mask per style, or None for a blend over the whole image."""

    grams: list[dict[str, torch.Tensor]]
    weights: list[float]
    masks: list[torch.Tensor] | None


def as_style_list(style: torch.Tensor | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """One style image or a list of them -> a non-empty list (each checked by the caller)."""
    if isinstance(style, torch.Tensor):
        return [style]
    if not isinstance(style, (list, tuple)):
        raise ValueError(f"style: expected an image tensor or a list of them, got {type(style).__name__}")
    if not style:
        raise ValueError("style: the list of style images is empty; give at least one")
    return list(style)


def blend_weights(blend: Sequence[float] | None, count: int) -> list[float]:
    """style_blend -> weights summing to 1 (None: equal weights)."""
    if blend is None:
        return [1.0 / count] * count
    blend = list(blend)
    if len(blend) != count:
        raise ValueError(f"style_blend: {len(blend)} weights for {count} style images")
    if any(isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0 for w in blend):
        raise ValueError(f"style_blend: weights must be finite numbers >= 0, got {blend!r}")
    total = sum(blend)
    if total == 0:
        raise ValueError("style_blend: the weights are all zero")
    return [w / total for w in blend]


def check_masks(masks: Sequence[torch.Tensor] | None, count: int, height: int, width: int) -> list[torch.Tensor] | None:
    """style_masks -> one (1, 1, height, width) float mask per style, resized to the content."""
    if masks is None:
        return None
    if isinstance(masks, torch.Tensor) or len(masks) != count:
        given = "a single tensor" if isinstance(masks, torch.Tensor) else f"{len(masks)} masks"
        raise ValueError(f"style_masks: give a list with one mask per style image ({count}), got {given}")
    out = []
    for i, mask in enumerate(masks):
        if not isinstance(mask, torch.Tensor) or mask.dim() not in (2, 4) or (mask.dim() == 4 and mask.shape[:2] != (1, 1)):
            shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise ValueError(f"style_masks[{i}]: expected shape (H, W) or (1, 1, H, W), got {shape}")
        mask = mask.float().reshape(1, 1, *mask.shape[-2:])
        if not torch.isfinite(mask).all() or mask.min() < 0 or mask.max() > 1:
            raise ValueError(f"style_masks[{i}]: values must be in [0, 1]")
        if mask.shape[-2:] != (height, width):
            mask = F.interpolate(mask, size=(height, width), mode="bilinear", align_corners=False)
        out.append(mask)
    if all(float(m.sum()) == 0 for m in out):
        raise ValueError("style_masks: every mask is empty (all zeros)")
    return out


def style_targets(extractor: VGG19Features, styles: list[torch.Tensor], weights: list[float],
                  layers: Mapping[str, float], masks: list[torch.Tensor] | None) -> StyleTargets:
    """The Gram matrices of each style image (computed once, no gradients). Without masks the
    styles collapse into one weighted-mean Gram dict."""
    device = extractor.device
    with torch.no_grad():
        grams = [{k: gram_matrix(v) for k, v in extractor.features(s.to(device), layers).items()} for s in styles]
    if masks is None:
        mixed = {k: sum(w * g[k] for w, g in zip(weights, grams)) for k in grams[0]}
        return StyleTargets([mixed], [1.0], None)
    return StyleTargets(grams, weights, [m.to(device) for m in masks])


def styles_loss(features: Mapping[str, torch.Tensor], targets: StyleTargets, layers: Mapping[str, float],
                kind: str = "mse") -> torch.Tensor:
    """The style loss against every style: weighted, and each within its mask when there are masks."""
    if targets.masks is None:
        return style_loss(features, targets.grams[0], layers, kind)
    return sum(w * masked_style_loss(features, g, m, layers, kind)
               for g, w, m in zip(targets.grams, targets.weights, targets.masks) if w > 0)


def styles_objective(targets: StyleTargets, layers: Mapping[str, float], kind: str = "mse") -> Objective:
    """The "style" term of several (or one) styles: styles_loss as an Objective reading `layers`."""
    return Objective.term("style", lambda features, _: styles_loss(features, targets, layers, kind), layers)


def split_masks(height: int, width: int, *, direction: str = "vertical", position: float = 0.5,
                feather: float = 0.1) -> list[torch.Tensor]:
    """Two complementary masks (1, 1, height, width) in [0, 1]: left/right ("vertical" split) or
    top/bottom ("horizontal"), meeting at `position` (0-1) with a soft edge `feather` wide
    (a fraction of the side; 0 for a hard edge). They add up to 1 everywhere."""
    if direction not in ("vertical", "horizontal"):
        raise ValueError(f"direction must be 'vertical' or 'horizontal', got {direction!r}")
    if not 0 < position < 1:
        raise ValueError(f"position must be between 0 and 1, got {position!r}")
    if not 0 <= feather < 1:
        raise ValueError(f"feather must be in [0, 1), got {feather!r}")
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be positive, got {height}x{width}")
    n = width if direction == "vertical" else height
    x = (torch.arange(n, dtype=torch.float32) + 0.5) / n
    first = ((position - x) / feather + 0.5).clamp(0, 1) if feather > 0 else (x < position).float()
    shape = (1, 1, 1, n) if direction == "vertical" else (1, 1, n, 1)
    first = first.reshape(shape).expand(1, 1, height, width).contiguous()
    return [first, 1 - first]
