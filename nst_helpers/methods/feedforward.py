"""Fast style transfer: the transformation network of Johnson et al. (2016).

One forward pass paints a photo in the style the network was trained on (training:
methods.fasttrain). The network at its published size: a 9x9 convolution to 32 channels, two
stride-2 convolutions down to 64 and 128, five residual blocks at 128 channels, two 2x
upsamplings back to 64 and 32, and a 9x9 convolution to RGB; about 1.68 M parameters.

Two choices are the lesson's controlled comparisons:
- norm: "instance" (Ulyanov et al.: each image normalized on its own; the usual choice) or
  "batch" (Johnson et al.'s original);
- upsample: "resize" (nearest-neighbour 2x, then a 3x3 convolution; Odena et al.'s fix) or
  "transpose" (a stride-2 transposed 3x3 convolution, as Johnson et al.; its uneven overlap
  leaves a checkerboard).

A trained network is saved as a plain dict that torch.load(weights_only=True) reads:
{"format", "version", "config": {"norm", "upsample"}, "state_dict", "info"} (info: plain
values describing the training).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..core.validation import check_choice, check_image

NORMS = ("instance", "batch")
UPSAMPLES = ("resize", "transpose")
#: Channels after the first convolution and after each stride-2 convolution (Johnson et al.).
CHANNELS = (32, 64, 128)
RESIDUAL_BLOCKS = 5
FILE_FORMAT = "nst-helpers feed-forward style network"
FILE_VERSION = 1


class NetworkFileError(ValueError):
    """A file that is not a trained network of this package. The message is one line naming the file."""


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.BatchNorm2d(channels)


class _Conv(nn.Module):
    """Reflection padding, then a convolution (stride 1 or 2): no zero border for the net to paint."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        self.pad = kernel // 2
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, [self.pad] * 4, mode="reflect"))


class _Residual(nn.Module):
    """x + norm(conv(relu(norm(conv(x))))), at 128 channels."""

    def __init__(self, channels: int, norm: str) -> None:
        super().__init__()
        self.body = nn.Sequential(_Conv(channels, channels, 3), _norm(norm, channels), nn.ReLU(),
                                  _Conv(channels, channels, 3), _norm(norm, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _Up(nn.Module):
    """Double the size to exactly `size` (so odd sizes come back): nearest resize + 3x3 conv, or a
    stride-2 transposed 3x3 conv."""

    def __init__(self, c_in: int, c_out: int, upsample: str) -> None:
        super().__init__()
        self.upsample = upsample
        if upsample == "resize":
            self.conv: nn.Module = _Conv(c_in, c_out, 3)
        else:
            self.conv = nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if self.upsample == "resize":
            return self.conv(F.interpolate(x, size=size, mode="nearest"))
        return self.conv(x, output_size=size)


class TransformNet(nn.Module):
    """Johnson et al.'s image transformation network: (N, 3, H, W) in [0, 1] -> (N, 3, H, W) in (0, 1).

    Any H, W >= 16 (odd too): the upsamplings return to the sizes of the downsamplings.
    norm: "instance" or "batch"; upsample: "resize" or "transpose" (see the module's docstring).
    The output is a sigmoid, so it never leaves [0, 1] and its gradient never vanishes at a clamp.
    """

    def __init__(self, norm: str = "instance", upsample: str = "resize") -> None:
        super().__init__()
        check_choice(norm, "norm", NORMS)
        check_choice(upsample, "upsample", UPSAMPLES)
        self.norm, self.upsample = norm, upsample
        c1, c2, c3 = CHANNELS
        self.head = nn.Sequential(_Conv(3, c1, 9), _norm(norm, c1), nn.ReLU())
        self.down1 = nn.Sequential(_Conv(c1, c2, 3, stride=2), _norm(norm, c2), nn.ReLU())
        self.down2 = nn.Sequential(_Conv(c2, c3, 3, stride=2), _norm(norm, c3), nn.ReLU())
        self.residuals = nn.Sequential(*[_Residual(c3, norm) for _ in range(RESIDUAL_BLOCKS)])
        self.up1, self.up1_after = _Up(c3, c2, upsample), nn.Sequential(_norm(norm, c2), nn.ReLU())
        self.up2, self.up2_after = _Up(c2, c1, upsample), nn.Sequential(_norm(norm, c1), nn.ReLU())
        self.tail = _Conv(c1, 3, 9)

    @property
    def config(self) -> dict[str, str]:
        """The choices that rebuild this network: {"norm": ..., "upsample": ...} (plain strings)."""
        return {"norm": self.norm, "upsample": self.upsample}

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.dim() != 4 or image.shape[1] != 3 or min(image.shape[-2:]) < 16:
            raise ValueError(f"image: expected (N, 3, H, W) with H, W >= 16, got {tuple(image.shape)}")
        x1 = self.head(image - 0.5)
        x2 = self.down1(x1)
        x = self.residuals(self.down2(x2))
        x = self.up1_after(self.up1(x, tuple(x2.shape[-2:])))
        x = self.up2_after(self.up2(x, tuple(x1.shape[-2:])))
        return torch.sigmoid(self.tail(x))

    def extra_repr(self) -> str:
        return f"norm={self.norm!r}, upsample={self.upsample!r}"


def count_parameters(network: nn.Module) -> int:
    """The number of trainable numbers in `network` (TransformNet: about 1.68 M)."""
    return sum(p.numel() for p in network.parameters() if p.requires_grad)


def count_flops(network: TransformNet, height: int = 256, width: int = 256) -> int:
    """Multiply-adds x 2 of one forward pass at height x width, counting convolutions only
    (norms, ReLUs and resizes are a rounding error next to them)."""
    flops = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal flops
        # Conv2d: each output number takes C_in*k*k multiply-adds; ConvTranspose2d: each input
        # number is spread over C_out*k*k outputs. weight[0] has exactly that many entries in each.
        counted = output if isinstance(module, nn.Conv2d) else inputs[0]
        flops += 2 * counted.numel() * module.weight[0].numel()

    convs = [m for m in network.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    handles = [m.register_forward_hook(hook) for m in convs]
    try:
        with torch.no_grad():
            network(torch.zeros(1, 3, height, width, device=next(network.parameters()).device))
    finally:
        for handle in handles:
            handle.remove()
    return flops


def stylize(network: TransformNet, image: torch.Tensor) -> torch.Tensor:
    """Paint `image` (1, 3, H, W) in [0, 1] with a trained network: (1, 3, H, W) in [0, 1], on the
    image's device. One forward pass in eval mode (batch norm uses its running statistics);
    the network is put back in the mode it was in."""
    if not isinstance(network, TransformNet):
        raise ValueError(f"network: expected a TransformNet, got {type(network).__name__}")
    check_image(image, "image")
    was_training = network.training
    device = next(network.parameters()).device
    network.eval()
    try:
        with torch.no_grad():
            return network(image.to(device)).to(image.device)
    finally:
        network.train(was_training)


def save_network(network: TransformNet, path: str | os.PathLike, info: Mapping[str, Any] | None = None) -> Path:
    """Write the trained network to `path` (any suffix; .pt is usual) as plain types and tensors,
    loadable with torch.load(weights_only=True). info: plain values (str, int, float, bool,
    lists/tuples and dicts of them) describing the training. Written to a temporary name first,
    so an interrupted save never leaves half a file. Returns the path."""
    if not isinstance(network, TransformNet):
        raise ValueError(f"network: expected a TransformNet, got {type(network).__name__}")
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"{path}: folder {path.parent} does not exist")
    state = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
    payload = {"format": FILE_FORMAT, "version": FILE_VERSION, "config": dict(network.config),
               "state_dict": state, "info": dict(info or {})}
    tmp = path.with_name(f".tmp-{path.name}")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _read_payload(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise NetworkFileError(f"{path}: network file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise NetworkFileError(f"{path}: not a readable network file ({first[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise NetworkFileError(f"{path}: not a feed-forward style network saved by nst-helpers "
                               "(train one with nst-fast train or nh.train_feedforward)")
    if payload.get("version") != FILE_VERSION:
        raise NetworkFileError(f"{path}: network file version {payload.get('version')!r}; "
                               f"this nst-helpers reads version {FILE_VERSION}")
    return payload


def load_network(path: str | os.PathLike, device: str | torch.device | None = "cpu") -> TransformNet:
    """Read a network written by save_network (with torch.load(weights_only=True)), in eval mode.

    Raises NetworkFileError, one line naming the file, for a missing, corrupt or foreign file
    or one whose weights do not fit the network. Its info: `network_info(path)`."""
    path = Path(path)
    payload = _read_payload(path)
    config, state = payload.get("config"), payload.get("state_dict")
    if not isinstance(config, dict) or config.get("norm") not in NORMS or config.get("upsample") not in UPSAMPLES:
        raise NetworkFileError(f"{path}: config {config!r} is not a TransformNet's (norm in {NORMS}, "
                               f"upsample in {UPSAMPLES})")
    network = TransformNet(config["norm"], config["upsample"])
    if not isinstance(state, dict):
        raise NetworkFileError(f"{path}: state_dict is a {type(state).__name__}, not a dict of tensors")
    try:
        network.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as e:
        first = str(e).strip().splitlines()
        reason = " ".join(line.strip() for line in first[:2])[:200]
        raise NetworkFileError(f"{path}: weights do not fit a TransformNet ({reason})") from None
    if not all(torch.isfinite(v).all() for v in network.state_dict().values() if v.is_floating_point()):
        raise NetworkFileError(f"{path}: weights contain NaN or inf")
    return network.eval().to(device)


def network_info(path: str | os.PathLike) -> dict[str, Any]:
    """The plain `info` dict saved with a network (what it was trained on and how)."""
    info = _read_payload(Path(path)).get("info", {})
    return dict(info) if isinstance(info, dict) else {}
