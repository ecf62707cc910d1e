"""Recipes built from the pieces: Gatys et al.'s neural style transfer.

style_transfer = VGG19 features + content loss + style loss + TV loss, minimized by `optimize`.
"""
from __future__ import annotations

import os
from typing import Callable, Sequence

import torch

from ..canvas.parameterizations import FourierImage, Parameterization
from ..core.devices import resolve_device, resolve_precision
from ..core.losses import KINDS, content_loss, tv_loss
from ..core.validation import Layers, check_image, check_steps, check_weight, layer_weights
from ..core.vgg import get_extractor
from ..optimization.loop import OPTIMIZERS, Callback, OptimizationResult, optimize
from ..optimization.memory import MemoryEstimateError, available_memory, check_fits, largest_long_side
from .setup import initial_image
from .styles import as_style_list, blend_weights, check_masks, style_targets, styles_loss

GATYS_CONTENT_LAYERS = ("relu4_2",)
GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
PARAMETERIZATIONS = ("pixels", "fourier")


def style_transfer(content: torch.Tensor, style: torch.Tensor | Sequence[torch.Tensor], *,
                   content_layers: Layers = GATYS_CONTENT_LAYERS,
                   style_layers: Layers = GATYS_STYLE_LAYERS,
                   content_weight: float = 1.0, style_weight: float = 100.0, tv_weight: float = 3e4,
                   loss_kind: str = "mse", steps: int = 300, optimizer: str = "lbfgs",
                   lr: float | None = None, init: str | torch.Tensor = "content", seed: int = 0,
                   device: str | torch.device | None = None, weights: str | os.PathLike = "original",
                   pooling: str = "avg", precision: str = "auto",
                   style_blend: Sequence[float] | None = None, style_masks: Sequence[torch.Tensor] | None = None,
                   parameterization: str | Parameterization = "pixels",
                   transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                   callback: Callback | None = None, callback_every: int = 10,
                   progress: bool = True) -> OptimizationResult:
    """Paint `content` in the style of `style` (Gatys et al.), both (1, 3, H, W) RGB in [0, 1].

    The images may differ in size: Gram matrices depend only on channel counts.
    content_layers / style_layers: layer names (equal weights) or {name: weight}.
    content_weight, style_weight, tv_weight: the weights of the three loss terms (>= 0). The
        content and style losses live on the scale of VGG's activations (hundreds) and TV on the
        scale of pixels (0.1), hence defaults this far apart; they were tuned on Tübingen x
        The Starry Night at 256 px.
    style: one image or a list; style_blend: a weight per style (default equal); style_masks:
        one mask per style, (H, W) or (1, 1, H, W) in [0, 1] over the content (methods.styles).
    parameterization: "pixels", "fourier" (Lucid's decorrelated Fourier image, started from
        `init`) or a Parameterization to optimize (then `init` is not used).
    transform: applied to the image before VGG on every step (e.g. transforms.augmentation or a
        schedules.ScheduledBlur); TV is measured on the untransformed image.
    Returns an OptimizationResult: .image (1, 3, H, W) in [0, 1], and .history with the
    per-step "total", "content", "style" and "tv" losses (weighted, as minimized).
    Raises MemoryEstimateError (a ValueError) before any work when the transfer will not fit
    in the device's free memory (optimization.memory).
    """
    check_image(content, "content")
    styles = as_style_list(style)
    for i, image in enumerate(styles):
        check_image(image, "style" if len(styles) == 1 else f"style[{i}]")
    blend = blend_weights(style_blend, len(styles))
    masks = check_masks(style_masks, len(styles), *content.shape[-2:])
    weights_of = {"content_weight": content_weight, "style_weight": style_weight, "tv_weight": tv_weight}
    content_weight, style_weight, tv_weight = (check_weight(v, k) for k, v in weights_of.items())
    content_w = layer_weights(content_layers, "content_layers")
    style_w = layer_weights(style_layers, "style_layers")
    check_steps(steps)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if loss_kind not in KINDS:
        raise ValueError(f"loss_kind must be one of {KINDS}, got {loss_kind!r}")
    if not (parameterization in PARAMETERIZATIONS or isinstance(parameterization, Parameterization)):
        raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS} or a Parameterization, "
                         f"got {parameterization!r}")
    if transform is not None and not callable(transform):
        raise ValueError(f"transform must be a function image -> image, got {type(transform).__name__}")
    device = resolve_device(device)
    needed = list(dict.fromkeys([*content_w, *style_w]))
    largest_style = max(styles, key=lambda s: s.shape[-2] * s.shape[-1])
    memory_kwargs = dict(precision=resolve_precision(precision, device), optimizer=optimizer,
                         style_size=tuple(largest_style.shape[-2:]))
    check_fits(*content.shape[-2:], needed, device=device, **memory_kwargs)
    extractor = get_extractor(weights, pooling, str(device), precision)

    content = content.to(device)
    start = initial_image(init, content, styles[0].to(device), seed)
    with torch.no_grad():
        content_targets = extractor.features(content, content_w)
    targets = style_targets(extractor, styles, blend, style_w, masks)

    def objective(image: torch.Tensor) -> dict[str, torch.Tensor]:
        image = image.to(device)  # a Parameterization made on another device still works (slower)
        features = extractor.features(image if transform is None else transform(image), needed)
        return {
            "content": content_weight * content_loss(features, content_targets, content_w, loss_kind),
            "style": style_weight * styles_loss(features, targets, style_w, loss_kind),
            "tv": tv_weight * tv_loss(image),
        }

    if isinstance(parameterization, Parameterization):
        start = parameterization
    elif parameterization == "fourier":
        start = FourierImage(*start.shape[-2:], init=start, device=device)
    try:
        return optimize(objective, start, steps, optimizer=optimizer, lr=lr, callback=callback,
                        callback_every=callback_every, progress=progress, desc="style transfer",
                        divergence_guard=transform is None)
    except torch.cuda.OutOfMemoryError:
        pass  # leave the handler first: its traceback holds the failed step's tensors
    del content_targets, targets, start, objective
    if device.type == "cuda":
        torch.cuda.empty_cache()
    height, width = content.shape[-2:]
    side = largest_long_side(height, width, needed, available_memory(device) or 0, **memory_kwargs)
    raise MemoryEstimateError(f"content: ran out of memory on {device} at {width}x{height} (the estimate said it "
                              f"would fit); use a long side of {side} px or less, or tiled_style_transfer")
