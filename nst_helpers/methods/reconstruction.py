"""Recipes that rebuild an image from what VGG19 keeps of it.

reconstruct_content: match one layer's activations of a photo, starting from noise
    (Mahendran & Vedaldi): shallow layers keep the pixels, deep layers keep the arrangement.
synthesize_texture: match the Gram matrices of a style image, starting from noise
    (Gatys et al.'s texture synthesis): what is left is style with no layout.
"""
from __future__ import annotations

import os
from typing import Sequence

import torch

from ..core.devices import resolve_device
from ..core.images import MIN_SIDE
from ..core.losses import gram_matrix, style_loss
from ..core.validation import Layers, check_image, check_steps, check_weight, layer_weights
from ..core.vgg import get_extractor
from ..optimization import objectives
from ..optimization.loop import Callback, OptimizationResult, optimize

STARTS = ("noise", "zeros", "gray")


def start_image(shape: Sequence[int], start: str | torch.Tensor = "noise", seed: int = 0,
                noise_scale: float = 1.0) -> torch.Tensor:
    """A starting image (1, 3, H, W) in [0, 1] for `shape` (1, 3, H, W).

    "noise": gray plus seeded uniform noise of amplitude noise_scale / 2 (1.0 fills [0, 1]);
    "zeros": black; "gray": 0.5 everywhere; or a tensor of that shape, used as is.
    """
    shape = tuple(shape)
    if isinstance(start, torch.Tensor):
        if tuple(start.shape) != shape:
            raise ValueError(f"start: shape {tuple(start.shape)} differs from {shape}")
        return start.detach().clamp(0, 1)
    if start == "noise":
        generator = torch.Generator().manual_seed(seed)
        return (0.5 + noise_scale * (torch.rand(shape, generator=generator) - 0.5)).clamp(0, 1)
    if start == "zeros":
        return torch.zeros(shape)
    if start == "gray":
        return torch.full(shape, 0.5)
    raise ValueError(f"start must be one of {STARTS} or an image tensor, got {start!r}")


def reconstruct_content(image: torch.Tensor, layer: str, *, steps: int = 200, start: str | torch.Tensor = "noise",
                        noise_scale: float = 1.0, tv_weight: float = 0.0, seed: int = 0,
                        optimizer: str = "lbfgs", device: str | torch.device | None = None,
                        weights: str | os.PathLike = "original", pooling: str = "avg", precision: str = "auto",
                        callback: Callback | None = None, callback_every: int = 10,
                        progress: bool = True) -> OptimizationResult:
    """Find an image whose `layer` activations match those of `image` (1, 3, H, W) in [0, 1].

    The loss is the mean squared feature difference divided by the target's mean square,
    so it starts near 1 at every layer and curves from different layers share one axis.
    tv_weight adds total variation (mean |pixel difference|, ~0.05-0.3 for photos).
    Returns an OptimizationResult with history "content" (and "tv" if tv_weight > 0).
    """
    check_image(image, "image")
    layer_weights([layer], "layer")
    check_steps(steps)
    tv_weight = check_weight(tv_weight, "tv_weight")
    extractor = get_extractor(weights, pooling, str(resolve_device(device)), precision)
    image = image.to(extractor.device)
    with torch.no_grad():
        target = extractor.features(image, [layer])
    scale = target[layer].pow(2).mean().clamp_min(1e-12).item()
    objective = objectives.content(target) * (1 / scale)
    if tv_weight > 0:
        objective = objective + tv_weight * objectives.tv()
    init = start_image(image.shape, start, seed, noise_scale).to(extractor.device)
    return optimize(objective, init, steps, extractor=extractor, optimizer=optimizer, callback=callback,
                    callback_every=callback_every, progress=progress, desc=f"reconstructing {layer}")


def synthesize_texture(style: torch.Tensor, layers: Layers, *, size: tuple[int, int] | None = None,
                       steps: int = 200, seed: int = 0, tv_weight: float = 0.0, optimizer: str = "lbfgs",
                       device: str | torch.device | None = None, weights: str | os.PathLike = "original",
                       pooling: str = "avg", precision: str = "auto", callback: Callback | None = None,
                       callback_every: int = 10, progress: bool = True) -> OptimizationResult:
    """A new image of `size` (H, W; default the style's) whose Gram matrices at `layers`
    match those of `style` (1, 3, H, W) in [0, 1], starting from seeded noise.

    layers: names (equal weights) or {name: weight}. The style loss is divided by its value at
    the start, so it begins at 1 whatever the layers. Returns an OptimizationResult with
    history "style" (and "tv").
    """
    check_image(style, "style")
    layer_w = layer_weights(layers, "layers")
    check_steps(steps)
    tv_weight = check_weight(tv_weight, "tv_weight")
    height, width = size if size is not None else tuple(style.shape[-2:])
    if min(height, width) < MIN_SIDE:
        raise ValueError(f"size: {width}x{height} is too small; VGG19 needs {MIN_SIDE}x{MIN_SIDE} or more")
    extractor = get_extractor(weights, pooling, str(resolve_device(device)), precision)
    init = start_image((1, 3, height, width), "noise", seed).to(extractor.device)
    with torch.no_grad():
        grams = {k: gram_matrix(v) for k, v in extractor.features(style.to(extractor.device), layer_w).items()}
        scale = style_loss(extractor.features(init, layer_w), grams, layer_w).clamp_min(1e-12).item()
    objective = objectives.gram_style(grams, layer_w) * (1 / scale)
    if tv_weight > 0:
        objective = objective + tv_weight * objectives.tv()
    return optimize(objective, init, steps, extractor=extractor, optimizer=optimizer, callback=callback,
                    callback_every=callback_every, progress=progress, desc="synthesizing texture")
