"""Small random changes to an image before VGG sees it (Lucid's "transform").

A transform maps an image (N, 3, H, W) to another image and is differentiable, so the
optimization sees the gradient through it. Random transforms draw from the
`torch.Generator` they were made with: the same seed gives the same run.
Feature visualization needs them: without them, gradient ascent finds high-frequency
patterns that excite a channel only at one exact pixel alignment.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF

Transform = Callable[[torch.Tensor], torch.Tensor]


def _randint(low: int, high: int, generator: torch.Generator | None) -> int:
    """A random integer in [low, high]."""
    return int(torch.randint(low, high + 1, (1,), generator=generator))


def jitter(max_shift: int, generator: torch.Generator | None = None) -> Transform:
    """Shift the image by up to `max_shift` pixels in x and y (wrapping around the edges)."""
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift!r}")

    def shift(image: torch.Tensor) -> torch.Tensor:
        dy, dx = _randint(-max_shift, max_shift, generator), _randint(-max_shift, max_shift, generator)
        return torch.roll(image, shifts=(dy, dx), dims=(-2, -1))
    return shift


def random_scale(scales: Sequence[float], generator: torch.Generator | None = None) -> Transform:
    """Resize the image by a factor picked from `scales` (bilinear), e.g. (0.9, 1.0, 1.1)."""
    scales = list(scales)
    if not scales or any(not s > 0 for s in scales):
        raise ValueError(f"scales must be positive numbers, got {scales!r}")

    def scale(image: torch.Tensor) -> torch.Tensor:
        factor = scales[_randint(0, len(scales) - 1, generator)]
        if factor == 1:
            return image
        return F.interpolate(image, scale_factor=factor, mode="bilinear", align_corners=False)
    return scale


def gaussian_blur(sigma: float) -> Transform:
    """Blur with a Gaussian of standard deviation `sigma` pixels (0 leaves the image alone).

    In the forward pass it blurs the image; in the backward pass it blurs the gradient too,
    which is what damps high-frequency noise in feature visualization.
    """
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma!r}")

    def blur(image: torch.Tensor) -> torch.Tensor:
        if sigma == 0:
            return image
        kernel = 2 * int(3 * sigma) + 1
        return TF.gaussian_blur(image, kernel_size=[kernel, kernel], sigma=[sigma, sigma])
    return blur


def compose(*transforms: Transform) -> Transform:
    """Apply the transforms left to right."""
    def composed(image: torch.Tensor) -> torch.Tensor:
        for transform in transforms:
            image = transform(image)
        return image
    return composed


def standard_transforms(seed: int = 0, jitter_px: int = 8, scales: Sequence[float] = (0.9, 0.95, 1.0, 1.05, 1.1),
                        blur_sigma: float = 0.5) -> Transform:
    """Jitter, random scale, a second small jitter and a light blur: a robust default for
    feature visualization (after Lucid's standard transforms)."""
    generator = torch.Generator().manual_seed(seed)
    return compose(jitter(jitter_px, generator), random_scale(scales, generator),
                   jitter(max(jitter_px // 2, 1), generator), gaussian_blur(blur_sigma))
