"""Check for notebook 01: colour preservation."""
from __future__ import annotations

from typing import Callable

import torch

from ...recipes.colour import preserve_colour
from .base import as_tensor, fail, function_name, randn, run_student

#: preserve_colour results may differ this much (mean absolute difference, 0-1 scale) from ours,
#: so that any standard luminance (YCbCr, YUV, YIQ, BT.709, CIELAB; 8-bit or float) passes.
COLOUR_TOLERANCE = 0.03

# ---------------------------------------------------------------------------- colour

def _colour_test_images() -> tuple[torch.Tensor, torch.Tensor]:
    """A content image (teal to tan) and a blue, striped stylized one, each (1, 3, 24, 32).

    Chosen so that luminance from YCbCr, YUV, YIQ, BT.709 or CIELAB all land within 0.015 of our
    result, the plain RGB average about 0.1 away, and YCbCr without clamping leaves [0, 1].
    """
    ys, xs = torch.meshgrid(torch.linspace(0, 1, 24), torch.linspace(0, 1, 32), indexing="ij")
    content = torch.stack([0.3 + 0.3 * xs + 0.2 * ys, 0.6 - 0.2 * xs + 0.1 * ys, 0.6 - 0.5 * xs]).unsqueeze(0)
    stripes = 0.5 + 0.4 * torch.sin(xs * 12 + ys * 5) + 0.08 * randn(1, 1, 24, 32, seed=9)
    return content, (stripes * torch.tensor([0.4, 0.4, 0.95]).view(1, 3, 1, 1)).clamp(0, 1)


def _mad(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.detach().float().cpu() - b).abs().mean())


def check_preserve_colour(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], show: bool = False) -> None:
    """fn(stylized, content), both (1, 3, H, W) RGB in [0, 1], must return (1, 3, H, W) in [0, 1]:
    the stylized image's luminance with the content's colours (Y from stylized, Cb and Cr from
    content). Any standard luminance (YCbCr, YUV, YIQ, BT.709, CIELAB lightness) passes.
    show: draw content, stylized and your result side by side."""
    name = function_name(fn, "preserve_colour")
    content, stylized = _colour_test_images()
    out = as_tensor(name, run_student(name, fn, stylized.clone(), content.clone()))
    if out.shape != stylized.shape:
        fail(name, f"returned shape {tuple(out.shape)}, expected the input's shape {tuple(stylized.shape)}")
    if not out.is_floating_point():
        fail(name, f"returned a {out.dtype} tensor: return floats in [0, 1] (divide 0-255 values by 255)")
    low, high = float(out.min()), float(out.max())
    if high > 2:
        fail(name, f"values run up to {high:.4g}: that looks like 0-255, divide by 255 to get [0, 1]")
    if low < -1e-3 or high > 1 + 1e-3:
        fail(name, f"values run from {low:.3g} to {high:.3g}, outside [0, 1]: clamp the result, "
                    ".clamp(0, 1); recombining luminance and colour can leave the RGB range")
    expected = preserve_colour(stylized, content)
    off = _mad(out, expected)
    if off > COLOUR_TOLERANCE:
        grey = stylized.mean(1, keepdim=True) - content.mean(1, keepdim=True)
        mistakes = [
            (stylized, "returned the stylized image unchanged: keep its luminance (Y) but take the colour "
                       "(Cb, Cr) from the content"),
            (content, "returned the content image: the result should have the stylized image's luminance "
                      "(its light and dark pattern) and only the content's colours"),
            (preserve_colour(content, stylized), "swapped the roles: you kept the content's luminance and "
                                                 "the stylized colours; take Y from stylized, Cb and Cr from content"),
            ((content + grey).clamp(0, 1), "used the plain average of R, G and B as brightness: luminance "
                                           "weighs them as Y = 0.299 R + 0.587 G + 0.114 B (YCbCr)"),
        ]
        known = [message for value, message in mistakes if _mad(out, value) < COLOUR_TOLERANCE]
        fail(name, known[0] if known else
              f"differs from luminance-only transfer by {off:.3f} on average (tolerance {COLOUR_TOLERANCE}): "
              "take Y from stylized and Cb, Cr from content, e.g. with PIL's .convert('YCbCr')")
    print(f"✓ {name}: the stylized image's luminance with the content's colours")
    if show:
        from ...notebook.plots import show_images
        show_images({"content": content, "stylized": stylized, "your result": out.detach().float().cpu()})
