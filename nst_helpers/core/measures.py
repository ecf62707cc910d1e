"""Measures of a finished image, for claims that compare two results.

A claim should not rest on the very loss a run just minimized (a run with other weights or
layers minimized another one). These measures are fixed: the same network, layers and
precision whatever the run used.

- reference_losses (reference_content_loss, reference_style_loss): content and style loss under
  one fixed fp32 VGG19 (original weights, average pooling, Gatys' layers), each layer's loss
  divided by its target's mean square;
- high_frequency_energy: the share of the image's spectral energy above a cut-off frequency;
- colour_distance: how far two images' colours are apart (CIELAB a*b* means and spreads);
- periodic_energy: how much a grid of period p (tile seams, checkerboards) stands out.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import ImageCms

from .images import to_pil
from .losses import gram_matrix
from .validation import check_image, check_int, check_number
from .vgg import get_extractor

REFERENCE_CONTENT_LAYERS = ("relu4_2",)
REFERENCE_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).pow(2).mean() / b.pow(2).mean().clamp_min(1e-12)).item()


def reference_style_loss(image: torch.Tensor, style: torch.Tensor) -> float:
    """How far `image`'s Gram matrices are from `style`'s, both (1, 3, H, W) in [0, 1] (sizes may
    differ), under the fixed reference (original VGG19, avg pooling, fp32, CPU) at Gatys' five
    layers: each layer's mean squared difference over the target's mean square, averaged."""
    check_image(image, "image")
    check_image(style, "style")
    vgg = get_extractor("original", "avg", "cpu", "fp32")
    with torch.no_grad():
        mine = vgg.features(image.detach().cpu(), REFERENCE_STYLE_LAYERS)
        theirs = vgg.features(style.detach().cpu(), REFERENCE_STYLE_LAYERS)
    return float(np.mean([_relative(gram_matrix(mine[k]), gram_matrix(theirs[k])) for k in REFERENCE_STYLE_LAYERS]))


def reference_content_loss(image: torch.Tensor, content: torch.Tensor) -> float:
    """How far `image`'s relu4_2 features are from `content`'s (same shape (1, 3, H, W) in [0, 1])
    under the fixed reference: mean squared difference over the target's mean square."""
    check_image(image, "image")
    check_image(content, "content")
    if image.shape != content.shape:
        raise ValueError(f"image: shape {tuple(image.shape)} differs from the content's {tuple(content.shape)}")
    vgg = get_extractor("original", "avg", "cpu", "fp32")
    with torch.no_grad():
        mine = vgg.features(image.detach().cpu(), REFERENCE_CONTENT_LAYERS)
        photo = vgg.features(content.detach().cpu(), REFERENCE_CONTENT_LAYERS)
    return float(np.mean([_relative(mine[k], photo[k]) for k in REFERENCE_CONTENT_LAYERS]))


def reference_losses(image: torch.Tensor, content: torch.Tensor, style: torch.Tensor) -> dict[str, float]:
    """{"content": reference_content_loss, "style": reference_style_loss} of a transfer's result:
    0 is a perfect match, 1 is as far as an all-zero answer. The fixed yardstick, whatever
    network, layers or precision the run itself used."""
    return {"content": reference_content_loss(image, content), "style": reference_style_loss(image, style)}


def _power_spectrum(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Power (H, W) of the mean-free grey image, and each frequency's radius as a fraction of Nyquist."""
    grey = image.detach().float().cpu().mean(dim=(0, 1))
    power = torch.fft.fft2(grey - grey.mean()).abs().pow(2)
    fy = torch.fft.fftfreq(grey.shape[0]).abs().view(-1, 1)
    fx = torch.fft.fftfreq(grey.shape[1]).abs().view(1, -1)
    return power, torch.maximum(fy, fx) / 0.5


def high_frequency_energy(image: torch.Tensor, cutoff: float = 0.5) -> float:
    """The share (0-1) of the grey image's spectral energy at frequencies above `cutoff` times the
    Nyquist frequency (in x or y). Pixel-level noise raises it; smooth areas lower it."""
    check_image(image, "image")
    cutoff = check_number(cutoff, "cutoff")
    if cutoff >= 1:
        raise ValueError(f"cutoff must be below 1 (the Nyquist frequency), got {cutoff}")
    power, radius = _power_spectrum(image)
    return (power[radius > cutoff].sum() / power.sum().clamp_min(1e-12)).item()


def _ab_statistics(image: torch.Tensor) -> np.ndarray:
    """Means and standard deviations of CIELAB's a* and b* (colour, not lightness) over the image."""
    to_lab = ImageCms.buildTransformFromOpenProfiles(ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"),
                                                     "RGB", "LAB")
    lab = np.asarray(ImageCms.applyTransform(to_pil(image), to_lab))
    ab = lab[..., 1:].view(np.int8).astype(np.float64)  # Pillow stores a*, b* as signed bytes
    return np.concatenate([ab.mean(axis=(0, 1)), ab.std(axis=(0, 1))])


def colour_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """How far apart the colours of two images (1, 3, H, W) in [0, 1] are, sizes may differ: the
    Euclidean distance between their CIELAB a*/b* means and standard deviations (0 = same palette).
    Lightness (L*) does not count, though a darker copy of a colourful image moves a little,
    since darker colours are less saturated."""
    check_image(a, "a")
    check_image(b, "b")
    return float(np.linalg.norm(_ab_statistics(a) - _ab_statistics(b)))


def periodic_energy(image: torch.Tensor, period: int) -> float:
    """How strongly a grid with this period (in pixels) stands out, e.g. tile seams or a transposed
    convolution's checkerboard (period 2). A pattern repeating every `period` pixels puts its
    energy on a lattice of frequencies (multiples of 1/period in x and y); this is the mean, over
    those lattice points, of their spectral power divided by the mean power of the frequencies
    around them (1-2 bins away). About 1 with no such grid, tens or more with a visible one."""
    check_image(image, "image")
    period = check_int(period, "period", 2)
    height, width = image.shape[-2:]
    if height % period or width % period:
        raise ValueError(f"period: {period} does not divide the image's {width}x{height}; crop it to a multiple")
    power, _ = _power_spectrum(image)
    ys = [k * height // period for k in range(period)]
    xs = [k * width // period for k in range(period)]
    lattice = {(y, x) for y in ys for x in xs} - {(0, 0)}
    ratios = []
    for y, x in lattice:
        around = [power[(y + dy) % height, (x + dx) % width] for dy in range(-2, 3) for dx in range(-2, 3)
                  if (dy, dx) != (0, 0) and ((y + dy) % height, (x + dx) % width) not in lattice | {(0, 0)}]
        ratios.append(power[y, x] / torch.stack(around).mean().clamp_min(1e-12))
    return torch.stack(ratios).mean().item()
