"""The start every method that compares a photo with a painting shares: a start image, a
size check, the images on the device and the shared extractor."""
from __future__ import annotations

from typing import Mapping

import torch

from ..core.devices import resolve_device
from ..core.images import resize
from ..core.validation import check_image, check_steps, check_weight
from ..core.vgg import VGG19Features, get_extractor
from ..optimization.loop import OPTIMIZERS
from ..optimization.memory import check_fits

INITS = ("content", "noise", "style")


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


def transfer_setup(content: torch.Tensor, style: torch.Tensor, layers: list[str], *, init: str | torch.Tensor,
                   seed: int, device: str | torch.device | None, precision: str, optimizer: str
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, VGG19Features]:
    """The start every single-style method shares: refuse a size that will not fit, then return
    (content, style, start image, extractor with the original weights), all on the device."""
    device = resolve_device(device)
    check_fits(*content.shape[-2:], layers, device=device, precision=precision, optimizer=optimizer,
               style_size=tuple(style.shape[-2:]))
    content, style = content.to(device), style.to(device)
    return content, style, initial_image(init, content, style, seed), get_extractor("original", "avg", str(device), precision)


def check_transfer_settings(content: torch.Tensor, style: torch.Tensor, steps: int, optimizer: str,
                            weights: Mapping[str, float]) -> list[float]:
    """The checks every transfer makes before any work: images, steps, optimizer and loss
    weights ({parameter name: value}). Returns the weights as floats."""
    check_image(content, "content")
    check_image(style, "style")
    values = [check_weight(value, name) for name, value in weights.items()]
    check_steps(steps)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    return values
