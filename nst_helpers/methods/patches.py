"""Style as local patches of features (Li & Wand 2016, CNNMRF).

Instead of comparing statistics of the whole image, every 3x3 patch of the image's VGG
features is matched to its most similar patch of the style's features (normalized
cross-correlation), and pulled towards it. The style's local structures are copied, not
averaged: strokes keep their shape, but only strokes the painting contains can appear.
"""
from __future__ import annotations

import os
from typing import Mapping

import torch
import torch.nn.functional as F

from ..core.validation import Layers, check_features, check_int, layer_weights
from ..core.vgg import layer_names
from ..optimization import objectives
from ..optimization.loop import Callback, OptimizationResult
from ..optimization.memory import layer_shapes
from ..optimization.objectives import Objective
from .setup import TransferSettings, check_inputs, prepare_transfer, run_transfer

PATCH_STYLE_LAYERS = ("relu3_1", "relu4_1")
#: Keeps a style patch's norm away from 0 when normalizing it (features are >= 0 after a ReLU).
NORM_EPS = 1e-8


def extract_patches(features: torch.Tensor, size: int = 3, stride: int = 1) -> torch.Tensor:
    """All size x size patches of features (1, C, h, w), `stride` apart, row by row.

    Returns (P, C, size, size) with P = ((h - size) // stride + 1) * ((w - size) // stride + 1);
    differentiable with respect to `features`.
    """
    _check_one_image(features)
    size, stride = check_int(size, "size"), check_int(stride, "stride")
    if size > min(features.shape[-2:]):
        raise ValueError(f"size: {size} is larger than the features' {features.shape[-1]}x{features.shape[-2]}")
    channels = features.shape[1]
    columns = F.unfold(features, size, stride=stride)  # (1, C*size*size, P)
    return columns[0].transpose(0, 1).reshape(-1, channels, size, size)


def _check_one_image(features: object) -> None:
    check_features(features, "features")
    if features.shape[0] != 1:
        raise ValueError(f"features: expected one image (1, C, h, w), got batch size {features.shape[0]}")


def _check_style_patches(features: torch.Tensor, style_patches: object, size: int | None) -> None:
    """ValueError unless style_patches is (P, C, size, size) for these features; size None: any square size."""
    _check_one_image(features)
    if not isinstance(style_patches, torch.Tensor) or style_patches.dim() != 4:
        raise ValueError("style_patches: expected (P, C, size, size) from extract_patches")
    size = style_patches.shape[-1] if size is None else size
    if style_patches.shape[1:] != (features.shape[1], size, size):
        raise ValueError(f"style_patches: shape {tuple(style_patches.shape)} does not fit features with "
                         f"{features.shape[1]} channels and size={size}")
    if size > min(features.shape[-2:]):
        raise ValueError(f"features: {features.shape[-1]}x{features.shape[-2]} is smaller than the "
                         f"{size}x{size} patches")


def match_patches(features: torch.Tensor, style_patches: torch.Tensor) -> torch.Tensor:
    """For every patch of features (1, C, h, w) (stride 1, row by row), the index of the
    style patch (P, C, s, s) with the highest normalized cross-correlation. Returns (L,) int64.

    One conv2d with the style patches, each divided by its norm, as filters gives every
    image patch's dot product with every normalized style patch; dividing by the image
    patch's own norm would not change which style patch wins, so that is skipped.
    """
    _check_style_patches(features, style_patches, None)
    with torch.no_grad():
        norms = style_patches.flatten(1).norm(dim=1).clamp_min(NORM_EPS)
        responses = F.conv2d(features, style_patches / norms.view(-1, 1, 1, 1))  # (1, P, h', w')
        return responses.argmax(dim=1).flatten()


def patch_style_loss(features: torch.Tensor, style_patches: torch.Tensor, size: int = 3) -> torch.Tensor:
    """Li & Wand's MRF style loss, a scalar: the mean squared difference between every
    size x size patch of features (1, C, h, w) and its nearest style patch (match_patches).

    style_patches: (P, C, size, size), e.g. extract_patches(style features). The matching is
    done without gradients; the loss is differentiable with respect to `features`.
    """
    _check_style_patches(features, style_patches, size)
    nearest = match_patches(features, style_patches)
    return F.mse_loss(extract_patches(features, size), style_patches[nearest])


def style_patches_of(features: torch.Tensor, size: int, max_patches: int, seed: int) -> torch.Tensor:
    """extract_patches(features, size) with at most max_patches of them: a random subset drawn
    with a seeded generator when there are more (the matching's cost grows with their number)."""
    patches = extract_patches(features, size)
    if len(patches) <= max_patches:
        return patches
    keep = torch.randperm(len(patches), generator=torch.Generator().manual_seed(seed))[:max_patches]
    return patches[keep.to(patches.device)]


def _check_patches_fit(image: torch.Tensor, name: str, layers: dict[str, float], patch_size: int) -> None:
    """Raise ValueError unless every layer's features of `image` hold at least one patch."""
    height, width = image.shape[-2:]
    shapes = {layer: (h, w) for layer, _, h, w in layer_shapes(height, width, max(layers, key=layer_names().index))}
    for layer in layers:
        if min(shapes[layer]) < patch_size:
            raise ValueError(f"{name}: {width}x{height} is too small for {patch_size}x{patch_size} patches at "
                             f"{layer} ({shapes[layer][1]}x{shapes[layer][0]} features); use a larger image")


def patch_objective(style_patches: Mapping[str, torch.Tensor], layer_weights: Mapping[str, float],
                    patch_size: int, name: str = "style") -> Objective:
    """The patch style term (patch_style_loss per layer, weighted) as an Objective."""
    patches = dict(style_patches)

    def patch_loss(features: Mapping[str, torch.Tensor], _: torch.Tensor) -> torch.Tensor:
        return sum(w * patch_style_loss(features[layer], patches[layer], patch_size)
                   for layer, w in layer_weights.items())
    return Objective.term(name, patch_loss, layer_weights)


def patch_transfer(content: torch.Tensor, style: torch.Tensor, *, style_layers: Layers = PATCH_STYLE_LAYERS,
                   content_layer: str = "relu4_2", content_weight: float = 1.0, style_weight: float = 1.0,
                   tv_weight: float = 3e4, patch_size: int = 3, max_patches: int = 2048, steps: int = 200,
                   optimizer: str = "lbfgs", lr: float | None = None, init: str | torch.Tensor = "content",
                   seed: int = 0, device: str | torch.device | None = None, weights: str | os.PathLike = "original",
                   pooling: str = "avg", precision: str = "auto", callback: Callback | None = None,
                   callback_every: int = 10, progress: bool = True) -> OptimizationResult:
    """Li & Wand's CNNMRF style transfer. content, style: (1, 3, H, W) in [0, 1].

    The image is optimized for content_weight * MSE to the content's `content_layer` features
    ("content") + style_weight * patch_style_loss summed over style_layers with their weights
    ("style") + tv_weight * tv_loss ("tv"). Style patches (patch_size, stride 1) are taken once;
    a layer with more than max_patches keeps a random subset (seeded by `seed`), which bounds
    the cost of matching on a CPU. Defaults tuned on Tübingen x The Starry Night at 128-256 px.
    weights, pooling, device, precision: the VGG19 to use, as for style_transfer.
    Returns an OptimizationResult (.image (1, 3, H, W) in [0, 1], .history per term).
    """
    settings = TransferSettings(content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight,
                                optimizer=optimizer, lr=lr, init=init, seed=seed, device=device, weights=weights,
                                pooling=pooling, precision=precision)  # every choice checked before any work
    check_inputs(content, [style], steps)
    content_w = layer_weights([content_layer], "content_layer")
    style_w = layer_weights(style_layers, "style_layers")
    patch_size = check_int(patch_size, "patch_size", 1)
    max_patches = check_int(max_patches, "max_patches", 1)
    for image, name in ((content, "content"), (style, "style")):
        _check_patches_fit(image, name, style_w, patch_size)
    setup = prepare_transfer(content, [style], [content_layer, *style_w], settings)
    with torch.no_grad():
        content_target = setup.extractor.features(setup.content, [content_layer])
        style_features = setup.extractor.features(setup.styles[0], style_w)
        patches = {name: style_patches_of(style_features[name], patch_size, max_patches, seed) for name in style_w}
    objective = (settings.content_weight * objectives.content(content_target, content_w)
                 + settings.style_weight * patch_objective(patches, style_w, patch_size)
                 + settings.tv_weight * objectives.tv())
    return run_transfer(setup, objective, steps, callback=callback, callback_every=callback_every,
                        progress=progress, desc="patch transfer")
