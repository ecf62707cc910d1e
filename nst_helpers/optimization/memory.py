"""How much memory a style transfer needs, and a clean refusal when it will not fit.

The estimate is a plain sum of what one optimization step keeps alive (see
estimate_transfer_memory); benchmarks/README.md compares it with measured peak RSS on a CPU.
"""
from __future__ import annotations

from typing import Iterable

import torch

from ..core.devices import resolve_precision
from ..core.validation import check_int
from ..core.vgg import check_layers, layer_names
from ..core.weights import CONV_LAYERS
from .optimizers import LBFGS_HISTORY, OPTIMIZERS, check_optimizer

BYTES_PER_VALUE = {"fp32": 4, "bf16": 2}
#: Image-sized fp32 buffers besides the optimizer's: the image, its gradient, the best image
#: so far, the content image and the preprocessing temporaries.
IMAGE_BUFFERS = 8
#: Activation-sized gradients alive at once during backward: a conv's output and input and the ReLU's.
GRADIENT_BUFFERS = 3
#: L-BFGS keeps LBFGS_HISTORY steps and as many gradient changes, plus a few image-sized
#: buffers (the direction, the previous gradient, ...).
LBFGS_BUFFERS = 6
#: The history is allocated a little at a time between short-lived activations, which
#: fragments the heap: on a CPU it raised peak RSS by 1.45-1.75x its size (benchmarks/README.md).
LBFGS_HISTORY_COST = 2
ADAM_BUFFERS = 2
#: Allocator slack and library workspaces (oneDNN, cuDNN), whatever the image size.
FIXED_OVERHEAD = 64 * 2**20
#: Suggested sizes are multiples of this (VGG19 halves the image four times).
SIDE_STEP = 16


class MemoryEstimateError(ValueError):
    """A transfer that will not fit in the free memory. One line, with a size that would."""


def layer_shapes(height: int, width: int, deepest: str) -> list[tuple[str, int, int, int]]:
    """(name, channels, h, w) of every VGG19 layer from conv1_1 up to and including `deepest`."""
    out_channels = {conv: c_out for conv, _, c_out in CONV_LAYERS}
    shapes, channels, h, w = [], 3, height, width
    for name in layer_names():
        if name.startswith("pool"):
            h, w = h // 2, w // 2
        else:
            channels = out_channels[name.replace("relu", "conv")]
        shapes.append((name, channels, h, w))
        if name == deepest:
            break
    return shapes


def _forward_bytes(height: int, width: int, layers: list[str], precision: str) -> int:
    """Activations and gradients of one forward + backward pass through VGG19 up to the deepest layer."""
    size = BYTES_PER_VALUE[precision]
    deepest = max(layers, key=layer_names().index)
    shapes = layer_shapes(height, width, deepest)
    numel = {name: c * h * w for name, c, h, w in shapes}
    # autograd keeps each ReLU's and pool's output (the next layer's input) and the network input
    kept = 3 * height * width + sum(n for name, n in numel.items() if not name.startswith("conv"))
    kept += sum(numel[name] for name in layers if name.startswith("conv"))  # returned conv outputs stay
    # the loss layers come back as fp32 (copies in bf16), and their gradients wait for backward
    loss_copies = sum(numel[name] for name in layers) * 4
    copies = loss_copies if precision == "bf16" else 0
    backward = GRADIENT_BUFFERS * max(numel.values()) * size
    return kept * size + copies + loss_copies + backward


def _no_grad_forward_bytes(height: int, width: int, layers: list[str], precision: str) -> int:
    """Peak of a forward pass without gradients (the style targets): two layers at a time plus the outputs."""
    deepest = max(layers, key=layer_names().index)
    numel = {name: c * h * w for name, c, h, w in layer_shapes(height, width, deepest)}
    return 2 * max(numel.values()) * BYTES_PER_VALUE[precision] + sum(numel[name] for name in layers) * 4


def weight_bytes(precision: str) -> int:
    """VGG19Features holds all sixteen convolutions, whatever layers are asked for."""
    return sum(c_in * c_out * 9 + c_out for _, c_in, c_out in CONV_LAYERS) * BYTES_PER_VALUE[precision]


def estimate_transfer_memory(height: int, width: int, layers: Iterable[str], *, precision: str = "fp32",
                             optimizer: str = "lbfgs", style_size: tuple[int, int] | None = None) -> int:
    """Bytes a style transfer of a `height` x `width` content image needs, as a readable sum.

    layers: every layer the losses use (content and style); the forward pass runs to the deepest.
    precision: "fp32" or "bf16" (resolve "auto" with devices.resolve_precision first).
    style_size: (height, width) of the style image; its features are computed once, without gradients.
    The sum: VGG19's weights + the larger of (the style pass) and (one optimization step: kept
    activations, fp32 loss-layer copies and their gradients, backward's gradient buffers,
    image-sized buffers, optimizer state) + a fixed overhead.
    """
    height, width = check_int(height, "height"), check_int(width, "width")
    layers = list(dict.fromkeys(check_layers(layers, "layers")))
    if not layers:
        raise ValueError("layers: give at least one layer")
    if precision not in BYTES_PER_VALUE:
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
    check_optimizer(optimizer)
    if optimizer not in OPTIMIZERS:
        raise ValueError("optimizer: the memory of a factory-made optimizer cannot be estimated; give its name")

    image = 3 * height * width * 4
    if optimizer == "lbfgs":
        optimizer_state = (2 * LBFGS_HISTORY * LBFGS_HISTORY_COST + LBFGS_BUFFERS) * image
    else:
        optimizer_state = ADAM_BUFFERS * image
    step = _forward_bytes(height, width, layers, precision) + IMAGE_BUFFERS * image + optimizer_state
    style = 0
    if style_size is not None:
        style_h, style_w = (check_int(v, "style_size") for v in style_size)
        style = _no_grad_forward_bytes(style_h, style_w, layers, precision)
    return weight_bytes(precision) + max(step, style) + FIXED_OVERHEAD


def available_memory(device: torch.device) -> int | None:
    """Free bytes on `device`: CUDA's free memory (plus what torch caches unused), the CPU's
    MemAvailable from /proc/meminfo, or None where it cannot be told (MPS, no /proc)."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            return None
    return None


def scaled_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(height, width) with the longer side `long_side` and the same aspect ratio."""
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def largest_long_side(height: int, width: int, layers: Iterable[str], available: int, *, precision: str = "fp32",
                      optimizer: str = "lbfgs", style_size: tuple[int, int] | None = None) -> int:
    """The largest long side (a multiple of SIDE_STEP, at most the current one) whose transfer
    fits in `available` bytes at this aspect ratio; 0 when none does (settings as for
    estimate_transfer_memory)."""
    layers = list(layers)
    top = max(height, width) // SIDE_STEP * SIDE_STEP
    for side in range(top, 0, -SIDE_STEP):
        size = scaled_size(height, width, side)
        if estimate_transfer_memory(*size, layers, precision=precision, optimizer=optimizer,
                                    style_size=style_size) <= available:
            return side
    return 0


def _human(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def check_fits(height: int, width: int, layers: Iterable[str], *, device: str | torch.device,
               precision: str = "auto", optimizer: str = "lbfgs", style_size: tuple[int, int] | None = None,
               what: str = "content", available: int | None = None) -> None:
    """Raise MemoryEstimateError (one line, with a long side that fits) when the transfer's
    estimate exceeds the free memory of `device`. available: free bytes; None asks the device.
    Does nothing where the free memory cannot be told (MPS)."""
    device = torch.device(device)
    precision = resolve_precision(precision, device)
    layers = list(layers)
    need = estimate_transfer_memory(height, width, layers, precision=precision, optimizer=optimizer,
                                    style_size=style_size)
    if available is None:
        available = available_memory(device)
    if available is None or need <= available:
        return
    side = largest_long_side(height, width, layers, available, precision=precision, optimizer=optimizer,
                             style_size=style_size)
    advice = (f"use a long side of {side} px or less (or the tiled pass: nh.tiled_style_transfer)"
              if side else f"not even a {SIDE_STEP} px long side fits; free some memory or use a smaller style image")
    raise MemoryEstimateError(f"{what}: a {width}x{height} transfer needs about {_human(need)} on {device.type} "
                              f"but {_human(available)} is free; {advice}")
