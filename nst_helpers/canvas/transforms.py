"""Small random changes to an image before VGG sees it (Lucid's "transform").

A transform maps an image (N, 3, H, W) to another image and is differentiable, so the
optimization sees the gradient through it. Random transforms draw from the
`torch.Generator` they were made with: the same seed gives the same run.
Feature visualization needs them: without them, gradient ascent finds high-frequency
patterns that excite a channel only at one exact pixel alignment. `rotate` and `zoom` are
fixed, not random, changes (`zoom` drives DeepDream's zoom loop in notebook 08).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF

from ..core.validation import check_number

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
    The kernel reaches 3 sigma, or the image's shorter side less one pixel if that is smaller.

    In the forward pass it blurs the image; in the backward pass it blurs the gradient too,
    which is what damps high-frequency noise in feature visualization.
    """
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma!r}")

    def blur(image: torch.Tensor) -> torch.Tensor:
        if sigma == 0:
            return image
        radius = min(int(3 * sigma), min(image.shape[-2:]) - 1)  # reflect padding needs radius < side
        kernel = 2 * radius + 1
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


def rotate(image: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate (N, C, H, W) by `degrees` about its centre (bilinear, differentiable); the corners
    that come from outside the image are filled by reflecting it at its edges. Same shape out."""
    if degrees == 0:
        return image
    height, width = image.shape[-2:]
    angle = torch.tensor(degrees, dtype=image.dtype, device=image.device).deg2rad()
    cos, sin = angle.cos(), angle.sin()
    # affine_grid works in coordinates from -1 to 1 along each side; the height/width ratios
    # make this a true rotation of pixels on a non-square image, not a rotation plus a shear.
    theta = torch.stack([torch.stack([cos, -sin * height / width, torch.zeros_like(cos)]),
                         torch.stack([sin * width / height, cos, torch.zeros_like(cos)])])
    grid = F.affine_grid(theta.expand(image.shape[0], 2, 3), list(image.shape), align_corners=False)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def random_rotate(max_degrees: float, generator: torch.Generator | None = None) -> Transform:
    """Rotate the image by an angle drawn uniformly from [-max_degrees, max_degrees] (see `rotate`)."""
    if not (isinstance(max_degrees, (int, float)) and 0 <= max_degrees <= 180):
        raise ValueError(f"max_degrees must be a number from 0 to 180, got {max_degrees!r}")

    def turn(image: torch.Tensor) -> torch.Tensor:
        degrees = (2 * float(torch.rand((), generator=generator)) - 1) * max_degrees
        return rotate(image, degrees)
    return turn


def _to_size(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Centre-crop, or pad by reflection, (N, C, h, w) to (N, C, height, width)."""
    top, left = (image.shape[-2] - height) // 2, (image.shape[-1] - width) // 2
    if top >= 0 and left >= 0:  # only ever both bigger or both smaller: scaling keeps the aspect
        return image[..., top:top + height, left:left + width]
    pads = (-left, width - image.shape[-1] + left, -top, height - image.shape[-2] + top)
    mode = "reflect" if max(pads) < min(image.shape[-2:]) else "replicate"  # reflect needs a pad < the side
    return F.pad(image, pads, mode=mode)


def augmentation(seed: int = 0, jitter_px: int = 8, max_degrees: float = 5.0,
                 scales: Sequence[float] = (0.95, 1.05)) -> Transform:
    """Jitter, random scale and random rotation, for "robust features" in style transfer: apply it
    to the image before VGG on every step, then `crop_border` the result by about `jitter_px`.

    The returned transform maps (N, 3, H, W) to (N, 3, H, W): a scaled image is centre-cropped or
    reflection-padded back to H x W, so content features still line up with the content target.
    Two calls with the same seed give the same sequence of random changes. The loss then changes
    from step to step, so call `optimize` with divergence_guard=False.
    """
    generator = torch.Generator().manual_seed(seed)
    shift, scale = jitter(jitter_px, generator), random_scale(scales, generator)
    turn = random_rotate(max_degrees, generator)

    def augment(image: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[-2:]
        return turn(_to_size(scale(shift(image)), height, width))
    return augment


def crop_border(image: torch.Tensor, px: int) -> torch.Tensor:
    """Cut `px` pixels off every side: (1, 3, H, W) -> (1, 3, H - 2 px, W - 2 px)."""
    if isinstance(px, bool) or not isinstance(px, int) or px < 0:
        raise ValueError(f"px must be an integer >= 0, got {px!r}")
    height, width = image.shape[-2:]
    if 2 * px >= min(height, width):
        raise ValueError(f"px must be less than half the image's smaller side ({min(height, width)}), got {px}")
    return image[..., px:height - px, px:width - px]


def zoom(image: torch.Tensor, factor: float) -> torch.Tensor:
    """Enlarge the centre of `image` (N, C, H, W) in [0, 1] by `factor`: the central H / factor x
    W / factor region, resized back to H x W (bicubic, clamped to [0, 1]; differentiable). Same shape
    out. factor 1 returns `image`; a factor below 1 zooms out, filling the border by reflection."""
    factor = check_number(factor, "factor")
    if factor == 1:
        return image
    theta = torch.tensor([[1 / factor, 0.0, 0.0], [0.0, 1 / factor, 0.0]], dtype=image.dtype, device=image.device)
    grid = F.affine_grid(theta.expand(image.shape[0], 2, 3), list(image.shape), align_corners=False)
    return F.grid_sample(image, grid, mode="bicubic", padding_mode="reflection", align_corners=False).clamp(0, 1)
