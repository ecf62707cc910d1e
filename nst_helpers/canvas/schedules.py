"""Blurring the image, or its gradient, less and less as the optimization goes on.

Three places for the blur: the image VGG sees (`ScheduledBlur` as a transform), the gradient
(`blur_gradient`), or the image itself after every step (`BlurredPixels` as the parameterization).

A trick from feature visualization and some style transfer code: early steps, seen through a
strong blur, can only fix the large shapes; as the blur fades, later steps add the details.
A schedule is a function step -> value, e.g. ``decaying(4.0, 0.3, steps=200)`` for the sigma.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch.utils.hooks import RemovableHandle

from ..core.validation import check_int
from .parameterizations import PixelImage
from .transforms import gaussian_blur

Schedule = Callable[[int], float]
KINDS = ("exponential", "linear")
#: A blur this narrow has a one-pixel kernel in `gaussian_blur`, so it would change nothing.
MIN_SIGMA = 0.3


def decaying(start: float, end: float, steps: int, kind: str = "exponential") -> Schedule:
    """A schedule going from `start` at step 0 to `end` at step steps - 1, then staying at `end`.

    kind: "exponential" (geometric: the same ratio from one step to the next) or "linear".
    "exponential" needs start > 0 and end > 0, since a geometric decay never reaches 0: to end
    with no blur at all, end at MIN_SIGMA or below (ScheduledBlur then leaves the image alone),
    or use "linear". With steps=1 the value is `end` from the start.
    """
    for name, value in (("start", start), ("end", end)):
        if not (isinstance(value, (int, float)) and 0 <= value < math.inf):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    check_int(steps, "steps")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "exponential":
        for name, value in (("start", start), ("end", end)):
            if value == 0:
                raise ValueError(f"{name} must be > 0 for kind='exponential' (a geometric decay never "
                                 "reaches 0); use a small value or kind='linear'")

    def schedule(step: int) -> float:
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step!r}")
        if step >= steps - 1:
            return float(end)
        t = step / (steps - 1)
        if kind == "linear":
            return start + (end - start) * t
        return start * (end / start) ** t
    return schedule


class ScheduledBlur:
    """A transform (N, C, H, W) -> (N, C, H, W) that blurs with sigma = schedule(self.step).

    Each call blurs, then adds 1 to `self.step`; a sigma <= MIN_SIGMA leaves the image as it is.
    In `optimize` the objective, and so this transform, runs once per step (again after a
    recovery); as the blur fades the loss may rise, so pass it divergence_guard=False.
    Differentiable, like `gaussian_blur`.
    """

    def __init__(self, schedule: Schedule) -> None:
        if not callable(schedule):
            raise ValueError(f"schedule must be a function step -> sigma, got {type(schedule).__name__}")
        self.schedule = schedule
        self.step = 0

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        sigma = self.schedule(self.step)
        self.step += 1
        return image if sigma <= MIN_SIGMA else gaussian_blur(sigma)(image)

    def reset(self) -> None:
        """Start the schedule again from step 0."""
        self.step = 0


def blur_gradient(tensor: torch.Tensor, schedule: Schedule) -> RemovableHandle:
    """Blur the gradient of `tensor`, an image (N, C, H, W) being optimized, on every backward pass.

    The k-th backward pass (k = 0, 1, ...) replaces the gradient by its Gaussian blur with sigma
    schedule(k) (unchanged when sigma <= MIN_SIGMA). Returns the hook's handle: call its
    `remove()` to stop. tensor must require grad, e.g. PixelImage(...).pixels.
    """
    if not isinstance(tensor, torch.Tensor) or not tensor.requires_grad:
        raise ValueError("tensor must be a tensor with requires_grad=True (the image being optimized)")
    if tensor.dim() != 4:
        raise ValueError(f"tensor must be an image (N, C, H, W), got shape {tuple(tensor.shape)}")
    if not callable(schedule):
        raise ValueError(f"schedule must be a function step -> sigma, got {type(schedule).__name__}")
    blur = ScheduledBlur(schedule)
    return tensor.register_hook(blur)


class BlurredPixels(PixelImage):
    """Pixels replaced by their own Gaussian blur after every optimizer step: a Parameterization
    for `optimize` (or `style_transfer(parameterization=...)`).

    init: (1, 3, H, W) in [0, 1], copied. The loop calls `project_` once after each step; its k-th
    call (k = 0, 1, ...) blurs the pixels with sigma = schedule(k) (nothing when sigma <= MIN_SIGMA),
    then clamps them to [0, 1]. `self.step` counts the calls. Unlike `ScheduledBlur`, the blur is
    not seen by the loss: it changes the image that the next step starts from. Needs clamp=True
    in `optimize` (the default), or project_ is never called.
    """

    def __init__(self, init: torch.Tensor, schedule: Schedule) -> None:
        if not callable(schedule):
            raise ValueError(f"schedule must be a function step -> sigma, got {type(schedule).__name__}")
        super().__init__(init)
        self.schedule = schedule
        self.step = 0

    def project_(self) -> None:
        sigma = self.schedule(self.step)
        self.step += 1
        with torch.no_grad():
            if sigma > MIN_SIGMA:
                self.pixels.copy_(gaussian_blur(sigma)(self.pixels))
            self.pixels.clamp_(0, 1)
