"""The one set-up of every method that compares a photo with a painting (Gatys, AdaIN, patches).

They differ only in the style objective. `prepare_transfer` checks the size against free memory,
builds the shared extractor for the chosen weights, pooling, device and precision and makes the
start image; `run_transfer` runs the loop and turns a CUDA out-of-memory error into one line.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Sequence

import torch

from ..canvas.parameterizations import FourierImage, Parameterization
from ..core.devices import resolve_device, resolve_precision
from ..core.images import resize
from ..core.validation import check_image, check_steps, check_weight
from ..core.vgg import VGG19Features, get_extractor
from ..optimization.loop import Callback, OptimizationResult, Transform, optimize
from ..optimization.memory import MemoryEstimateError, available_memory, check_fits, largest_long_side
from ..optimization.objectives import Objective
from ..optimization.optimizers import check_optimizer

INITS = ("content", "noise", "style")
PARAMETERIZATIONS = ("pixels", "fourier")


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


def check_transfer_settings(content: torch.Tensor, styles: Sequence[torch.Tensor], steps: int, optimizer: str,
                            weights: Mapping[str, float]) -> list[float]:
    """The checks every transfer makes before any work: images, steps, optimizer and loss
    weights ({parameter name: value}). Returns the weights as floats."""
    check_image(content, "content")
    for i, image in enumerate(styles):
        check_image(image, "style" if len(styles) == 1 else f"style[{i}]")
    values = [check_weight(value, name) for name, value in weights.items()]
    check_steps(steps)
    check_optimizer(optimizer)
    if not isinstance(optimizer, str):
        raise ValueError("optimizer: a transfer takes 'lbfgs' or 'adam' (its memory is estimated by name)")
    return values


def prepare_transfer(content: torch.Tensor, styles: Sequence[torch.Tensor], layers: Sequence[str], *,
                     init: str | torch.Tensor = "content", seed: int = 0, device: str | torch.device | None = None,
                     weights: str | os.PathLike = "original", pooling: str = "avg", precision: str = "auto",
                     optimizer: str = "lbfgs") -> TransferSetup:
    """Refuse a size that will not fit (MemoryEstimateError, before loading anything), then put the
    images on the device, build the extractor and make the start image (see initial_image)."""
    device = resolve_device(device)
    layers = list(dict.fromkeys(layers))
    largest_style = max(styles, key=lambda s: s.shape[-2] * s.shape[-1])
    precision_used = resolve_precision(precision, device)
    check_fits(*content.shape[-2:], layers, device=device, precision=precision_used, optimizer=optimizer,
               style_size=tuple(largest_style.shape[-2:]))
    extractor = get_extractor(weights, pooling, str(device), precision)
    content = content.to(device)
    styles = [s.to(device) for s in styles]
    return TransferSetup(content, styles, initial_image(init, content, styles[0], seed), extractor, layers,
                         optimizer, precision_used)


def check_parameterization(parameterization: str | Parameterization) -> None:
    if not (parameterization in PARAMETERIZATIONS or isinstance(parameterization, Parameterization)):
        raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS} or a Parameterization, "
                         f"got {parameterization!r}")


def run_transfer(setup: TransferSetup, objective: Objective, steps: int, *, lr: float | None = None,
                 transform: Transform | None = None, parameterization: str | Parameterization = "pixels",
                 callback: Callback | None = None, callback_every: int = 10, progress: bool = True,
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
                        optimizer=setup.optimizer, lr=lr, callback=callback, callback_every=callback_every,
                        progress=progress, desc=desc)
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
