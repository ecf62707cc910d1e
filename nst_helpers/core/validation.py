"""Checks every public entry point runs on its arguments before any work starts.

Each raises ValueError with one line that names the parameter and says what is wrong.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence, Union

import torch

from .images import MIN_SIDE
from .losses import layer_weights_for
from .vgg import check_layers

#: A layer list (equal weights) or {layer name: weight}.
Layers = Union[Sequence[str], Mapping[str, float]]


def check_image(image: torch.Tensor, name: str) -> None:
    """Raise ValueError unless `image` is a finite (1, 3, H, W) tensor with both sides >= MIN_SIDE."""
    if not isinstance(image, torch.Tensor):
        raise ValueError(f"{name}: expected an image tensor (1, 3, H, W), got {type(image).__name__}; "
                         "load files with load_image")
    if image.dim() != 4 or image.shape[:2] != (1, 3):
        raise ValueError(f"{name}: expected shape (1, 3, H, W), got {tuple(image.shape)}")
    if min(image.shape[-2:]) < MIN_SIDE:
        raise ValueError(f"{name}: {image.shape[-1]}x{image.shape[-2]} is too small; "
                         f"VGG19 needs {MIN_SIDE}x{MIN_SIDE} or more")
    if not torch.isfinite(image).all():
        raise ValueError(f"{name}: contains NaN or inf")


def check_weight(value: float, name: str) -> float:
    """A loss weight must be a finite number >= 0; returns it as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_int(value: object, name: str, low: int = 1) -> int:
    """Return `value` if it is an integer >= low (not a bool), else raise ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        wanted = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return value


def check_number(value: object, name: str, above: float = 0.0) -> float:
    """Return `value` as a float if it is a finite number > above (not a bool), else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= above:
        raise ValueError(f"{name} must be a finite number > {above:g}, got {value!r}")
    return float(value)


def check_choice(value: object, name: str, choices: Sequence[object]) -> None:
    """Raise ValueError unless `value` is one of `choices`."""
    if isinstance(value, torch.Tensor) or value not in tuple(choices):
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def check_callback(callback: object) -> None:
    """Raise ValueError unless `callback` is None or a function callback(step, image, losses)."""
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be a function callback(step, image, losses), got {type(callback).__name__}")


def check_steps(steps: int) -> None:
    """Raise ValueError unless `steps` is a positive integer."""
    check_int(steps, "steps", 1)


def layer_weights(layers: Layers, what: str) -> dict[str, float]:
    """{layer name: weight} from names (equal weights) or a mapping; ValueError names `what`
    for unknown layers, an empty choice, or negative/NaN weights."""
    names = check_layers(layers.keys() if isinstance(layers, Mapping) else layers, what)
    if not names:
        raise ValueError(f"{what}: give at least one layer")
    return layer_weights_for(names, layers if isinstance(layers, Mapping) else None)


def check_features(features: object, name: str) -> None:
    """Raise ValueError unless `features` is a (N, C, h, w) tensor."""
    if not isinstance(features, torch.Tensor) or features.dim() != 4:
        shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise ValueError(f"{name}: expected features of shape (N, C, h, w), got {shape}")
