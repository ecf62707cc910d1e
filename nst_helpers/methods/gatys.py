"""Gatys et al.'s neural style transfer, built from the pieces.

style_transfer = VGG19 features + content objective + style objective + TV, minimized by
`optimize` through the set-up it shares with AdaIN and patch transfer (methods.setup). Its
choices (layers, weights, optimizer, network, ...) are one TransferSettings, checked once when
it is made; coarse to fine, the presets and the tiled pass hand that object on, never **kwargs.
"""
from __future__ import annotations

import os
from typing import Sequence

import torch

from ..canvas.parameterizations import Parameterization
from ..core.validation import Layers, layer_weights
from ..optimization import objectives
from ..optimization.loop import Callback, OptimizationResult, Transform
from .setup import (DEFAULT, GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS,
                    TransferSettings, check_inputs, check_parameterization, prepare_transfer, run_transfer)
from .styles import as_style_list, blend_weights, check_masks, style_targets, styles_objective

__all__ = ["DEFAULT", "GATYS_CONTENT_LAYERS", "GATYS_STYLE_LAYERS", "TransferSettings", "style_transfer",
           "transfer_with"]


def style_transfer(content: torch.Tensor, style: torch.Tensor | Sequence[torch.Tensor], *,
                   content_layers: Layers = DEFAULT.content_layers, style_layers: Layers = DEFAULT.style_layers,
                   content_weight: float = DEFAULT.content_weight, style_weight: float = DEFAULT.style_weight,
                   tv_weight: float = DEFAULT.tv_weight, loss_kind: str = DEFAULT.loss_kind, steps: int = 300,
                   optimizer: str = DEFAULT.optimizer, lr: float | None = DEFAULT.lr,
                   init: str | torch.Tensor = DEFAULT.init, seed: int = DEFAULT.seed,
                   device: str | torch.device | None = DEFAULT.device,
                   weights: str | os.PathLike = DEFAULT.weights, pooling: str = DEFAULT.pooling,
                   precision: str = DEFAULT.precision,
                   style_blend: Sequence[float] | None = None, style_masks: Sequence[torch.Tensor] | None = None,
                   parameterization: str | Parameterization = "pixels", transform: Transform | None = None,
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
    settings = TransferSettings(content_layers, style_layers, content_weight, style_weight, tv_weight, loss_kind,
                                optimizer, lr, init, seed, device, weights, pooling, precision)
    return transfer_with(settings, content, style, steps=steps, style_blend=style_blend, style_masks=style_masks,
                         parameterization=parameterization, transform=transform, callback=callback,
                         callback_every=callback_every, progress=progress)


def transfer_with(settings: TransferSettings, content: torch.Tensor, style: torch.Tensor | Sequence[torch.Tensor], *,
                  steps: int = 300, style_blend: Sequence[float] | None = None,
                  style_masks: Sequence[torch.Tensor] | None = None, parameterization: str | Parameterization = "pixels",
                  transform: Transform | None = None, callback: Callback | None = None, callback_every: int = 10,
                  step_offset: int = 0, progress: bool = True) -> OptimizationResult:
    """style_transfer with its choices given as one TransferSettings (already checked); the images
    and the other arguments are checked here. Coarse to fine, the presets and the tiled pass use it
    (step_offset: steps already done by an earlier part of the run, for the callback's count)."""
    if not isinstance(settings, TransferSettings):
        raise ValueError(f"settings: expected a TransferSettings, got {type(settings).__name__}")
    s = settings
    styles = as_style_list(style)
    check_inputs(content, styles, steps)
    blend = blend_weights(style_blend, len(styles))
    masks = check_masks(style_masks, len(styles), *content.shape[-2:])
    check_parameterization(parameterization)
    if transform is not None and not callable(transform):
        raise ValueError(f"transform must be a function image -> image, got {type(transform).__name__}")
    content_w = layer_weights(s.content_layers, "content_layers")
    style_w = layer_weights(s.style_layers, "style_layers")
    setup = prepare_transfer(content, styles, [*content_w, *style_w], s)
    with torch.no_grad():
        content_targets = setup.extractor.features(setup.content, content_w)
    targets = style_targets(setup.extractor, setup.styles, blend, style_w, masks)
    objective = (s.content_weight * objectives.content(content_targets, content_w, s.loss_kind)
                 + s.style_weight * styles_objective(targets, style_w, s.loss_kind)
                 + s.tv_weight * objectives.tv())
    return run_transfer(setup, objective, steps, transform=transform, parameterization=parameterization,
                        callback=callback, callback_every=callback_every, step_offset=step_offset, progress=progress)
