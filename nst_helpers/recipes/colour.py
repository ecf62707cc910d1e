"""Keeping the content photo's colours after style transfer.

Gatys, Bethge, Hertzmann & Shechtman (2016), "Preserving color in neural artistic style
transfer", give two ways: transfer only the luminance (preserve_colour, applied after the
transfer) or first match the style image's colour statistics to the photo (match_histogram,
applied before it).
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ..core.images import to_pil


def _check_image(image: torch.Tensor, name: str) -> None:
    if not isinstance(image, torch.Tensor) or image.dim() != 4 or image.shape[:2] != (1, 3):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"{name}: expected an RGB image tensor of shape (1, 3, H, W), got {shape}")


def preserve_colour(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The stylized image's luminance with the content image's colours.

    stylized, content: (1, 3, H, W) RGB in [0, 1], the same shape. Returns (1, 3, H, W) RGB in
    [0, 1] on stylized's device: Y of stylized's YCbCr with Cb and Cr of content's.
    Pillow does the colour conversion (JPEG's full-range BT.601 YCbCr) in 8 bits, so the result is
    within a few 1/255 steps of an exact conversion, and it carries no gradient (post-processing).
    """
    _check_image(stylized, "stylized")
    _check_image(content, "content")
    if stylized.shape != content.shape:
        raise ValueError(f"content: expected the stylized image's shape {tuple(stylized.shape)}, "
                         f"got {tuple(content.shape)}")
    y, _, _ = to_pil(stylized).convert("YCbCr").split()
    _, cb, cr = to_pil(content).convert("YCbCr").split()
    rgb = np.asarray(Image.merge("YCbCr", (y, cb, cr)).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).to(stylized.device)


def _mean_std(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (population) standard deviation, each (1, 3, 1, 1)."""
    return image.mean(dim=(2, 3), keepdim=True), image.std(dim=(2, 3), keepdim=True, correction=0)


def match_histogram(source: torch.Tensor, reference: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """`source` with each RGB channel's mean and standard deviation set to `reference`'s.

    source, reference: (1, 3, H, W) RGB in [0, 1]; their sizes may differ. Returns source's shape,
    clamped to [0, 1]. Typical use: match_histogram(style, content) before the transfer, so that
    the style arrives in the photo's colours. (The paper matches the full 3x3 colour covariance;
    matching each channel on its own is the simpler variant.) A flat channel (std < eps) of
    source becomes reference's mean.
    """
    _check_image(source, "source")
    _check_image(reference, "reference")
    src_mean, src_std = _mean_std(source)
    ref_mean, ref_std = (stat.to(source.device) for stat in _mean_std(reference))
    gain = torch.where(src_std > eps, ref_std / src_std.clamp_min(eps), torch.zeros_like(src_std))
    return ((source - src_mean) * gain + ref_mean).clamp(0, 1)
