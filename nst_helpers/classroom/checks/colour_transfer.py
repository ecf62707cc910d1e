"""The check for notebook 01's second exercise: a colour-preserving style transfer, end to end.

The student's function gets the content, the style and a `transfer` function; it must return a
stylized image in the content's colours, by either of Gatys et al.'s (2016) ways or any other.
The check hands it a fast fake transfer (a blend of the content with the resized style, so the
style's stripes and blue colours show) and measures the result: the colour statistics (Cb, Cr
means and spreads) must be the content's, and the style's stripes must be in its luminance.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .base import Mistake, as_tensor, fail, function_name, randn, run_probe, run_student
from .recording import Recorder, mean_difference, require_image, snapshot

Transfer = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: Full-range BT.601 RGB -> (Y, Cb, Cr) without offsets (JPEG's, as Pillow converts).
YCBCR = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
#: Largest allowed difference of the Cb/Cr means and stds from the content's (the style's are 0.2
#: away, the plain transfer's 0.12), and the least share of the style's stripes, as strong as in the
#: plain transfer's brightness, that must show in the result's (matching colours first keeps 0.5).
COLOUR_GAP, CARRIED = 0.05, 0.3


def _images() -> tuple[torch.Tensor, torch.Tensor]:
    """A warm, smooth content (24 x 32) and a blue, striped style of another size (30 x 20)."""
    ys, xs = torch.meshgrid(torch.linspace(0, 1, 24), torch.linspace(0, 1, 32), indexing="ij")
    content = torch.stack([0.75 - 0.3 * ys + 0.1 * xs, 0.45 + 0.2 * xs - 0.1 * ys, 0.25 + 0.15 * ys]).unsqueeze(0)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, 30), torch.linspace(0, 1, 20), indexing="ij")
    stripes = 0.5 + 0.4 * torch.sin(xs * 14 + ys * 6) + 0.03 * randn(30, 20, seed=12)
    tint = torch.tensor([0.35, 0.45, 0.95]).view(1, 3, 1, 1)
    return content.clamp(0, 1), (stripes * tint + torch.tensor([0.05, 0.1, 0.0]).view(1, 3, 1, 1)).clamp(0, 1)


def _ycbcr(image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,njhw->nihw", YCBCR, image)


def _fake_transfer(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """A stand-in for a style transfer: the content blended with the style resized to its size."""
    for what, image in (("content", content), ("style", style)):
        if not isinstance(image, torch.Tensor) or image.dim() != 4 or image.shape[:2] != (1, 3):
            raise Mistake(f"transfer's {what} is not an image (1, 3, h, w): call transfer(content, style)")
    resized = F.interpolate(style.detach(), size=content.shape[-2:], mode="bilinear", align_corners=False)
    return (0.4 * content.detach() + 0.6 * resized).clamp(0, 1)


def _is_luminance(image: torch.Tensor, content: torch.Tensor) -> bool:
    """Is `image` the content's luminance as a grey RGB image (Gatys et al.'s luminance-only transfer)?"""
    mine, theirs = _ycbcr(image), _ycbcr(content)
    return float(mine[:, 1:].abs().max()) < 0.01 and float((mine[:, :1] - theirs[:, :1]).abs().max()) < 0.01


def colour_transfer_probe(fn: Callable) -> dict:
    """The student's function with a recording fake transfer: the result and the transfer's calls."""
    name = function_name(fn, "colour_preserving_transfer")
    content, style = _images()
    transfer = Recorder(_fake_transfer, keep=2)
    out = as_tensor(name, run_student(name, fn, content.clone(), style.clone(), transfer))
    return {"out": snapshot(out), "calls": [call["args"] for call in transfer.calls], "count": transfer.count}


def colour_gap(image: torch.Tensor, content: torch.Tensor) -> float:
    """How far the colour statistics (Cb and Cr means and stds) of two images are apart (largest)."""
    def stats(x: torch.Tensor) -> torch.Tensor:
        chroma = _ycbcr(x)[:, 1:]
        return torch.cat([chroma.mean(dim=(2, 3)).flatten(), chroma.std(dim=(2, 3)).flatten()])
    return float((stats(image) - stats(content)).abs().max())


def style_carried(image: torch.Tensor, content: torch.Tensor, style: torch.Tensor) -> float:
    """How strongly the style's stripes show in the result's brightness change (result minus content),
    as a share of how strongly they show in the plain (fake) transfer's: 1 as strong, 0 not at all."""
    stripes = F.interpolate(_ycbcr(style)[:, :1], size=content.shape[-2:], mode="bilinear", align_corners=False)
    stripes = stripes - stripes.mean()

    def strength(x: torch.Tensor) -> float:
        change = _ycbcr(x)[:, :1] - _ycbcr(content)[:, :1]
        return float((change * stripes).sum() / (stripes * stripes).sum())
    return strength(image) / strength(_fake_transfer(content, style))


def check_colour_preserving_transfer(fn: Callable[[torch.Tensor, torch.Tensor, Transfer], torch.Tensor],
                                     show: bool = False) -> None:
    """fn(content, style, transfer) must return a style transfer of content in content's own colours:
    (1, 3, H, W) like content, in [0, 1]. content and style are (1, 3, H, W) RGB in [0, 1] (sizes
    differ); transfer(content, style) -> the plain stylized image, the content's shape. How the
    colours are kept is yours to choose. The check hands it a fast fake transfer: the result's
    colour statistics must be within 0.05 of the content's and the style's pattern must show in
    its brightness. show: draw content, style, the plain transfer and your result."""
    name = function_name(fn, "colour_preserving_transfer")
    content, style = _images()
    data = run_probe(colour_transfer_probe, fn)
    if data["count"] == 0:
        fail(name, "never called transfer: run the style transfer (the check hands you a fast stand-in for it)")
    first, second = data["calls"][0]
    if mean_difference(first, style) < 1e-6 or (first.shape != content.shape and second.shape == content.shape):
        fail(name, "swapped content and style: call transfer(content, style)")
    if first.shape != content.shape or not (colour_gap(first, content) < 1e-3 or _is_luminance(first, content)):
        fail(name, "changed the content's colours before the transfer: to match colours beforehand, change the "
                    "style's colours to the content's, not the other way round")
    out = require_image(name, data["out"], tuple(content.shape), "the content's")
    plain = _fake_transfer(content, style)
    gap, carried = colour_gap(out, content), style_carried(out, content, style)
    if mean_difference(out, content) < 1e-6:
        fail(name, "returned the content: return the stylized image, in the content's colours")
    if gap > COLOUR_GAP and mean_difference(out, plain) < 2e-3:
        fail(name, f"returned the transfer's result as it is: its colours are the style's ({gap:.3f} from the "
                    "content's): keep the content's colours, e.g. its Cb and Cr with the result's Y")
    if gap > COLOUR_GAP and carried < 0.2:
        fail(name, "kept the content's brightness and the stylized colours: take the brightness (Y) from the "
                    "stylized image and the colours (Cb, Cr) from the content")
    if gap > COLOUR_GAP:
        fail(name, f"the colours are {gap:.3f} from the content's (Cb, Cr means and spreads), more than "
                    f"{COLOUR_GAP}: keep the content's colours")
    if carried < CARRIED:
        fail(name, f"the style's pattern barely shows in the result's brightness ({carried:.0%} as strong as in the "
                    f"plain transfer, at least {CARRIED:.0%} expected): keep the stylized image's luminance")
    print(f"✓ {name}: the content's colours (within {gap:.3f}) with the style's pattern in the brightness "
          f"({carried:.0%} as strong as in the plain transfer)")
    if show:
        from ...notebook.plots import show_images
        show_images({"content": content, "style": style, "plain transfer (fake)": plain, "yours": out},
                    suptitle="with a fake transfer: content blended with the resized style")
