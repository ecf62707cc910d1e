"""Choosing the device and the arithmetic precision that runs VGG19 fastest on it."""
from __future__ import annotations

import torch

PRECISIONS = ("auto", "fp32", "bf16")


def default_device() -> torch.device:
    """CUDA if present, then Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """None -> default_device(); a name like "cuda" or "cpu" is checked to exist here."""
    if device is None:
        return default_device()
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device: {device!r} is not a device name (try 'cpu', 'cuda' or 'mps')") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked for but no CUDA GPU is available here")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device: 'mps' was asked for but Apple's MPS is not available here")
    return device


def cpu_has_fast_bf16() -> bool:
    """True when the CPU has native bf16 matrix units (AMX or AVX512-BF16)."""
    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    avx = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    try:
        return bool(amx() or avx())
    except RuntimeError:
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """"auto" -> "bf16" where the hardware runs it natively (AMX CPUs, CUDA with bf16), else "fp32"."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    if device.type == "cpu" and cpu_has_fast_bf16():
        return "bf16"
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"
