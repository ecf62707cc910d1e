"""Quick mode for CI and a sensible size for the device.

The notebooks call `choose(quick=..., cpu=..., gpu=...)` for every size and step count:
with NST_QUICK=1 (set by the test command) they run small but real; otherwise the value
suits the device (about 256 px on a CPU, 512 px on a GPU).
"""
from __future__ import annotations

import os
from typing import TypeVar

from ..core.devices import default_device

T = TypeVar("T")


def quick_mode() -> bool:
    """True when the environment variable NST_QUICK is set to 1 (or true/yes)."""
    return os.environ.get("NST_QUICK", "").strip().lower() in ("1", "true", "yes")


def choose(quick: T, cpu: T, gpu: T | None = None) -> T:
    """`quick` in quick mode; else `gpu` on CUDA/MPS (when given); else `cpu`."""
    if quick_mode():
        return quick
    if gpu is not None and default_device().type != "cpu":
        return gpu
    return cpu
