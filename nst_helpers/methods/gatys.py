"""Gatys et al.'s neural style transfer, built from the pieces.

style_transfer = VGG19 features + content objective + style objective + TV, minimized by
`optimize` through the set-up it shares with AdaIN and patch transfer (methods.setup). Its
choices (layers, weights, optimizer, network, ...) are one TransferSettings, checked once when
it is made; coarse to fine, the presets and the tiled pass hand that object on, never **kwargs.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Sequence

import torch

from ..canvas.parameterizations import Parameterization
from ..core.losses import KINDS
from ..core.validation import Layers, check_int, check_weight, layer_weights
from ..optimization import objectives
from ..optimization.loop import Callback, OptimizationResult, Transform
from ..optimization.optimizers import check_lr
from .setup import INITS, check_parameterization, check_transfer_settings, prepare_transfer, run_transfer
from .styles import as_style_list, blend_weights, check_masks, style_targets, styles_objective

GATYS_CONTENT_LAYERS = ("relu4_2",)
GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
POOLINGS = ("avg", "max")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class TransferSettings:
    """Every choice of a style transfer besides the images and the number of steps.

    Made once and checked when made (a bad value is a one-line ValueError naming it); change
    one with .replace(name=value). The defaults are style_transfer's: the loss weights were
    tuned on Tübingen x The Starry Night at 256 px.
    """

    content_layers: Layers = GATYS_CONTENT_LAYERS
    style_layers: Layers = GATYS_STYLE_LAYERS
    content_weight: float = 1.0
    style_weight: float = 100.0
    tv_weight: float = 3e4
    loss_kind: str = "mse"
    optimizer: str = "lbfgs"
    lr: float | None = None
    init: str | torch.Tensor = "content"
    seed: int = 0
    device: str | torch.device | None = None
    weights: str | os.PathLike = "original"
    pooling: str = "avg"
    precision: str = "auto"

    def __post_init__(self) -> None:
        layer_weights(self.content_layers, "content_layers")
        layer_weights(self.style_layers, "style_layers")
        for name in ("content_weight", "style_weight", "tv_weight"):
            object.__setattr__(self, name, check_weight(getattr(self, name), name))
        for name, value, choices in (("loss_kind", self.loss_kind, KINDS), ("optimizer", self.optimizer, ("lbfgs", "adam")),
                                     ("pooling", self.pooling, POOLINGS), ("precision", self.precision, PRECISIONS)):
            if value not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {value!r}")
        if self.lr is not None:
            check_lr(self.lr, self.optimizer)
        if not isinstance(self.init, torch.Tensor) and self.init not in INITS:
            raise ValueError(f"init must be one of {INITS} or an image tensor, got {self.init!r}")
        check_int(self.seed, "seed", 0)

    def replace(self, **changes: object) -> TransferSettings:
        """A copy with some choices changed (checked again)."""
        return dataclasses.replace(self, **changes)


DEFAULT = TransferSettings()
#: The default loss weights (see TransferSettings).
CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT = DEFAULT.content_weight, DEFAULT.style_weight, DEFAULT.tv_weight


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
                  progress: bool = True) -> OptimizationResult:
    """style_transfer with its choices given as one TransferSettings (already checked); the images
    and the other arguments are checked here. Coarse to fine, the presets and the tiled pass use it."""
    if not isinstance(settings, TransferSettings):
        raise ValueError(f"settings: expected a TransferSettings, got {type(settings).__name__}")
    s = settings
    styles = as_style_list(style)
    check_transfer_settings(content, styles, steps, s.optimizer, {})
    blend = blend_weights(style_blend, len(styles))
    masks = check_masks(style_masks, len(styles), *content.shape[-2:])
    check_parameterization(parameterization)
    if transform is not None and not callable(transform):
        raise ValueError(f"transform must be a function image -> image, got {type(transform).__name__}")
    content_w = layer_weights(s.content_layers, "content_layers")
    style_w = layer_weights(s.style_layers, "style_layers")
    setup = prepare_transfer(content, styles, [*content_w, *style_w], init=s.init, seed=s.seed, device=s.device,
                             weights=s.weights, pooling=s.pooling, precision=s.precision, optimizer=s.optimizer)
    with torch.no_grad():
        content_targets = setup.extractor.features(setup.content, content_w)
    targets = style_targets(setup.extractor, setup.styles, blend, style_w, masks)
    objective = (s.content_weight * objectives.content(content_targets, content_w, s.loss_kind)
                 + s.style_weight * styles_objective(targets, style_w, s.loss_kind)
                 + s.tv_weight * objectives.tv())
    return run_transfer(setup, objective, steps, lr=s.lr, transform=transform, parameterization=parameterization,
                        callback=callback, callback_every=callback_every, progress=progress)
