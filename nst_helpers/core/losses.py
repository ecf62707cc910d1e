"""The losses of neural style transfer: content, style (Gram matrices) and total variation.

Features are dicts {layer name: (N, C, H, W) tensor}, as returned by VGG19Features.features.
"""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F

KINDS = ("mse", "l1")


def distance(a: torch.Tensor, b: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """Mean squared ("mse") or mean absolute ("l1") difference, a scalar."""
    if kind == "mse":
        return F.mse_loss(a, b)
    if kind == "l1":
        return F.l1_loss(a, b)
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Channel correlations of (N, C, H, W) features -> (N, C, C), divided by C*H*W.

    Entry (i, j) says how strongly channels i and j fire together anywhere in the image, so the
    result ignores where things are and its size depends only on C, not on the image size.
    """
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def masked_gram_matrix(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The Gram matrix of only the masked part of (N, C, h, w) features: (N, C, C).

    mask: (1, 1, H, W) in [0, 1], any size (resized to h x w). Normalized by C times the mask's
    area, so a region gets the same Gram scale as a whole image with that texture.
    """
    n, c, h, w = features.shape
    mask = F.interpolate(mask.to(features), size=(h, w), mode="bilinear", align_corners=False)
    flat = (features * mask).reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * mask.sum().clamp_min(1e-8))


def masked_style_loss(features: Mapping[str, torch.Tensor], target_grams: Mapping[str, torch.Tensor],
                      mask: torch.Tensor, layer_weights: Mapping[str, float] | None = None,
                      kind: str = "mse") -> torch.Tensor:
    """style_loss restricted to the region where mask (1, 1, H, W) in [0, 1] is on; the mask
    also weights the region's pixels (a 0.5 mask counts them half)."""
    weights = layer_weights_for(target_grams, layer_weights)
    return sum(w * distance(masked_gram_matrix(features[name], mask), target_grams[name], kind)
               for name, w in weights.items())


def layer_weights_for(layers: Mapping | list | tuple, weights: Mapping[str, float] | None) -> dict[str, float]:
    """Per-layer weights: the given mapping, or equal weights summing to 1. Rejects NaN/negatives."""
    names = list(layers)
    if weights is None:
        return {name: 1.0 / len(names) for name in names}
    missing = [name for name in names if name not in weights]
    if missing:
        raise ValueError(f"layer weights: no weight given for layer {missing[0]!r}")
    for name in names:
        value = float(weights[name])
        if not value >= 0:  # also catches NaN
            raise ValueError(f"layer weights: weight for {name!r} must be >= 0, got {weights[name]!r}")
    return {name: float(weights[name]) for name in names}


def content_loss(features: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor],
                 layer_weights: Mapping[str, float] | None = None, kind: str = "mse") -> torch.Tensor:
    """Weighted sum over the target layers of distance(features[layer], targets[layer])."""
    weights = layer_weights_for(targets, layer_weights)
    return sum(w * distance(features[name], targets[name], kind) for name, w in weights.items())


def style_loss(features: Mapping[str, torch.Tensor], target_grams: Mapping[str, torch.Tensor],
               layer_weights: Mapping[str, float] | None = None, kind: str = "mse") -> torch.Tensor:
    """Weighted sum over the target layers of distance(gram(features[layer]), target_grams[layer])."""
    weights = layer_weights_for(target_grams, layer_weights)
    return sum(w * distance(gram_matrix(features[name]), target_grams[name], kind)
               for name, w in weights.items())


def tv_loss(image: torch.Tensor, kind: str = "l1") -> torch.Tensor:
    """Total variation of (N, C, H, W): mean difference between neighbouring pixels.

    "l1" (mean absolute difference) keeps edges; "mse" (mean squared) smooths more evenly.
    """
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    if kind == "l1":
        return dx.abs().mean() + dy.abs().mean()
    if kind == "mse":
        return dx.pow(2).mean() + dy.pow(2).mean()
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
