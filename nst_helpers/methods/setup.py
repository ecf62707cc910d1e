"""The one set-up of every method that compares a photo with a painting (Gatys, AdaIN, patches).

They differ only in the style objective. Their choices are one TransferSettings, checked once
when it is made; `prepare_transfer` checks the size against free memory, builds the shared
extractor for the chosen weights, pooling, device and precision and makes the start image;
`run_transfer` runs the loop and turns a CUDA out-of-memory error into one line.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Sequence

import torch

from ..canvas.parameterizations import FourierImage, Parameterization
from ..core.devices import PRECISIONS, resolve_device, resolve_precision
from ..core.images import resize
from ..core.losses import KINDS
from ..core.validation import Layers, check_choice, check_image, check_int, check_steps, check_weight, layer_weights
from ..core.vgg import POOLINGS, VGG19Features, get_extractor
from ..core.weights import check_weights_choice
from ..optimization.loop import Callback, OptimizationResult, Transform, optimize
from ..optimization.memory import MemoryEstimateError, available_memory, check_fits, largest_long_side
from ..optimization.objectives import Objective
from ..optimization.optimizers import OPTIMIZERS, check_lr

GATYS_CONTENT_LAYERS = ("relu4_2",)
GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
INITS = ("content", "noise", "style")
PARAMETERIZATIONS = ("pixels", "fourier")


def check_init(init: str | torch.Tensor) -> None:
    """Raise ValueError unless `init` is one of INITS or a tensor (its shape is checked with the content's)."""
    if not isinstance(init, torch.Tensor):
        check_choice(init, "init", INITS)


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
        for name, choices in (("loss_kind", KINDS), ("optimizer", OPTIMIZERS), ("pooling", POOLINGS),
                              ("precision", PRECISIONS)):
            check_choice(getattr(self, name), name, choices)
        if self.lr is not None:
            check_lr(self.lr, self.optimizer)
        check_init(self.init)
        check_int(self.seed, "seed", 0)
        resolve_device(self.device)
        check_weights_choice(self.weights)

    def replace(self, **changes: object) -> TransferSettings:
        """A copy with some choices changed (checked again)."""
        return dataclasses.replace(self, **changes)


DEFAULT = TransferSettings()


@dataclass
class TransferSetup:
    """content (1, 3, H, W) and styles [(1, 3, h, w), ...] on the device, the start image
    (1, 3, H, W) in [0, 1], the extractor, and the settings the memory check used."""

    content: torch.Tensor
    styles: list[torch.Tensor]
    start: torch.Tensor
    extractor: VGG19Features
    layers: list[str]
    optimizer: str
    precision: str
    lr: float | None


def initial_image(init: str | torch.Tensor, content: torch.Tensor, style: torch.Tensor,
                  seed: int) -> torch.Tensor:
    """The starting image (1, 3, H, W) in [0, 1]: the content, seeded uniform noise, the style
    resized to the content's size, or a given tensor of the content's shape."""
    if isinstance(init, torch.Tensor):
        check_image(init, "init")
        if init.shape != content.shape:
            raise ValueError(f"init: shape {tuple(init.shape)} differs from the content's {tuple(content.shape)}")
        return init.to(content.device).clamp(0, 1)
    if init == "content":
        return content.clone()
    if init == "noise":
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(content.shape, generator=generator).to(content.device)
    if init == "style":
        return resize(style, tuple(content.shape[-2:]))
    raise ValueError(f"init must be one of {INITS} or an image tensor, got {init!r}")


def check_inputs(content: torch.Tensor, styles: Sequence[torch.Tensor], steps: int) -> None:
    """The images and the step count every transfer checks before any work."""
    check_image(content, "content")
    for i, image in enumerate(styles):
        check_image(image, "style" if len(styles) == 1 else f"style[{i}]")
    check_steps(steps)


def prepare_transfer(content: torch.Tensor, styles: Sequence[torch.Tensor], layers: Sequence[str],
                     settings: TransferSettings) -> TransferSetup:
    """Refuse a size that will not fit (MemoryEstimateError, before loading anything), then put the
    images on the device, build the extractor the settings ask for and make the start image."""
    s = settings
    device = resolve_device(s.device)
    layers = list(dict.fromkeys(layers))
    largest_style = max(styles, key=lambda image: image.shape[-2] * image.shape[-1])
    precision = resolve_precision(s.precision, device)
    check_fits(*content.shape[-2:], layers, device=device, precision=precision, optimizer=s.optimizer,
               style_size=tuple(largest_style.shape[-2:]))
    extractor = get_extractor(s.weights, s.pooling, str(device), s.precision)
    content = content.to(device)
    styles = [image.to(device) for image in styles]
    return TransferSetup(content, styles, initial_image(s.init, content, styles[0], s.seed), extractor, layers,
                         s.optimizer, precision, s.lr)


def check_parameterization(parameterization: str | Parameterization) -> None:
    if not (parameterization in PARAMETERIZATIONS or isinstance(parameterization, Parameterization)):
        raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS} or a Parameterization, "
                         f"got {parameterization!r}")


def run_transfer(setup: TransferSetup, objective: Objective, steps: int, *, transform: Transform | None = None,
                 parameterization: str | Parameterization = "pixels", callback: Callback | None = None,
                 callback_every: int = 10, step_offset: int = 0, progress: bool = True,
                 desc: str = "style transfer") -> OptimizationResult:
    """optimize(objective) from the set-up's start. parameterization: "pixels", "fourier" (started
    from the start image) or a Parameterization (then the start image is not used). A CUDA
    out-of-memory error becomes a one-line MemoryEstimateError that names a size that fits."""
    start: torch.Tensor | Parameterization = setup.start
    if isinstance(parameterization, Parameterization):
        start = parameterization
    elif parameterization == "fourier":
        start = FourierImage(*setup.start.shape[-2:], init=setup.start, device=setup.content.device)
    try:
        return optimize(objective, start, steps, extractor=setup.extractor, transform=transform,
                        optimizer=setup.optimizer, lr=setup.lr, callback=callback, callback_every=callback_every,
                        step_offset=step_offset, progress=progress, desc=desc)
    except torch.cuda.OutOfMemoryError:
        pass  # leave the handler first: its traceback holds the failed step's tensors
    del start, objective
    device = setup.content.device
    if device.type == "cuda":
        torch.cuda.empty_cache()
    height, width = setup.content.shape[-2:]
    largest_style = max(setup.styles, key=lambda s: s.shape[-2] * s.shape[-1])
    side = largest_long_side(height, width, setup.layers, available_memory(device) or 0, precision=setup.precision,
                             optimizer=setup.optimizer, style_size=tuple(largest_style.shape[-2:]))
    raise MemoryEstimateError(f"content: ran out of memory on {device} at {width}x{height} (the estimate said it "
                              f"would fit); use a long side of {side} px or less, or tiled_style_transfer")
