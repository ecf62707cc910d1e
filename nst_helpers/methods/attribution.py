"""Project one unit's activation back to the pixels of a real image: which pixels made it fire?

Three maps, all gradients of the unit with respect to the image; they differ only in what the
backward pass does at each ReLU (y = max(x, 0)), given the gradient g arriving from above:

- ``saliency`` (Simonyan et al. 2014): the true gradient, g where the forward input x > 0.
- ``guided_backprop`` (Springenberg et al. 2015): g where x > 0 *and* g > 0.
- ``deconvnet`` (Zeiler & Fergus 2014): g where g > 0, whatever x was in the forward pass.

Max pooling passes g back to the position that won the max in the forward pass (the
"switches" of the deconvnet) in all three: that is already what autograd does for max_pool2d,
so use an extractor built with pooling="max". Images are (1, 3, H, W) RGB in [0, 1]; so are the
maps, of the same shape (signed, not in [0, 1]).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import nn

from ..core.validation import check_image
from ..core.vgg import VGG19Features, get_extractor

#: The backward rules at a ReLU, by name (None: autograd's own, the true gradient).
RULES = ("saliency", "guided_backprop", "deconvnet")


class GuidedReLU(torch.autograd.Function):
    """max(x, 0) forward; backward passes the gradient only where x > 0 and the gradient > 0."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad.clamp(min=0) * (x > 0)


class DeconvReLU(torch.autograd.Function):
    """max(x, 0) forward; backward passes the gradient where it is > 0, ignoring x."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.clamp(min=0)


_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor] | None] = {
    "saliency": None, "guided_backprop": GuidedReLU.apply, "deconvnet": DeconvReLU.apply}


@contextmanager
def relu_rule(network: nn.Module, rule: str) -> Iterator[None]:
    """Inside the block, every nn.ReLU module of `network` runs with `rule`'s backward pass
    (one of RULES; "saliency" changes nothing). The forward values are unchanged."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    function = _FUNCTIONS[rule]
    relus = [module for module in network.modules() if isinstance(module, nn.ReLU)] if function else []
    for module in relus:
        module.forward = function  # an instance attribute shadows the class's forward
    try:
        yield
    finally:
        for module in relus:
            del module.forward


def strongest_unit(image: torch.Tensor, layer: str, channel: int,
                   extractor: VGG19Features | None = None) -> tuple[int, int, float]:
    """(row, column, activation) of the most active unit of `channel` in `layer`'s map of `image`
    ((1, 3, H, W) in [0, 1]); row and column index the layer's map, not the image."""
    extractor = _extractor(extractor)
    check_image(image, "image")
    extractor.check_layers([layer], "layer")
    with torch.no_grad():
        maps = _channel_map(extractor, image, layer, channel)
    index = int(maps.argmax())
    row, column = divmod(index, maps.shape[1])
    return row, column, maps[row, column].item()


def project(image: torch.Tensor, layer: str, channel: int, rule: str = "saliency",
            extractor: VGG19Features | None = None, unit: tuple[int, int] | None = None) -> torch.Tensor:
    """The gradient of one unit of `channel` at `layer` with respect to `image`, backpropagated
    with `rule` at every ReLU (see RULES).

    image: (1, 3, H, W) in [0, 1]. unit: (row, column) in the layer's map; None takes the most
    active unit (strongest_unit). extractor: None builds VGG19 with max pooling. Returns a
    (1, 3, H, W) fp32 map on the image's device; it is zero outside the unit's receptive field.
    """
    extractor = _extractor(extractor)
    check_image(image, "image")
    extractor.check_layers([layer], "layer")
    pixels = image.detach().clone().requires_grad_(True)
    with relu_rule(extractor, rule), torch.enable_grad():
        maps = _channel_map(extractor, pixels, layer, channel)
        if unit is None:
            unit = divmod(int(maps.detach().argmax()), maps.shape[1])
        row, column = _check_unit(unit, maps.shape)
        maps[row, column].backward()
    return pixels.grad.detach()


def saliency(image: torch.Tensor, layer: str, channel: int, extractor: VGG19Features | None = None,
             unit: tuple[int, int] | None = None) -> torch.Tensor:
    """Plain gradient of the unit (the most active one unless `unit` is given): see project."""
    return project(image, layer, channel, "saliency", extractor, unit)


def guided_backprop(image: torch.Tensor, layer: str, channel: int, extractor: VGG19Features | None = None,
                    unit: tuple[int, int] | None = None) -> torch.Tensor:
    """Guided backpropagation of the unit (the most active one unless `unit` is given): see project."""
    return project(image, layer, channel, "guided_backprop", extractor, unit)


def deconvnet(image: torch.Tensor, layer: str, channel: int, extractor: VGG19Features | None = None,
              unit: tuple[int, int] | None = None) -> torch.Tensor:
    """Zeiler & Fergus's deconvnet projection of the unit (the most active one unless `unit` is
    given): see project."""
    return project(image, layer, channel, "deconvnet", extractor, unit)


def _extractor(extractor: VGG19Features | None) -> VGG19Features:
    if extractor is None:
        return get_extractor(pooling="max")
    if not callable(getattr(extractor, "features", None)) or not callable(getattr(extractor, "check_layers", None)):
        raise ValueError(f"extractor: expected a feature extractor (nh.get_extractor), got {type(extractor).__name__}")
    return extractor


def _channel_map(extractor: VGG19Features, image: torch.Tensor, layer: str, channel: int) -> torch.Tensor:
    """`channel`'s (h, w) map at `layer`; ValueError for a channel the layer does not have."""
    maps = extractor.features(image, [layer])[layer]
    count = maps.shape[1]
    if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel < count:
        raise ValueError(f"channel: {layer} has channels 0..{count - 1}, got {channel!r}")
    return maps[0, channel]


def _check_unit(unit: tuple[int, int], shape: torch.Size) -> tuple[int, int]:
    height, width = shape
    if (not isinstance(unit, (tuple, list)) or len(unit) != 2
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in unit)
            or not (0 <= unit[0] < height and 0 <= unit[1] < width)):
        raise ValueError(f"unit: expected (row, column) inside the {height}x{width} map, got {unit!r}")
    return int(unit[0]), int(unit[1])
