"""Notebook 01's colour-preserving transfer check: every way of keeping the colours passes, each
planted mistake gets its own message."""
import matplotlib
import pytest
import torch
from PIL import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import nst_helpers as nh  # noqa: E402
from nst_helpers.classroom.checks.colour_transfer import check_colour_preserving_transfer  # noqa: E402

BT601 = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def to_ycbcr(x):
    return torch.einsum("ij,njhw->nihw", BT601, x)


def to_rgb(x):
    return torch.einsum("ij,njhw->nihw", torch.linalg.inv(BT601), x).clamp(0, 1)


def luminance_after(content, style, transfer):
    """Transfer, then keep the result's Y with the content's Cb and Cr (Pillow, as in notebook 01)."""
    stylized = transfer(content, style)
    y, _, _ = nh.to_pil(stylized).convert("YCbCr").split()
    _, cb, cr = nh.to_pil(content).convert("YCbCr").split()
    return nh.load_image(Image.merge("YCbCr", (y, cb, cr)).convert("RGB"))


def colours_matched_first(content, style, transfer):
    """Gatys et al.'s second way: give the style the content's colour statistics, then transfer."""
    mean, std = content.mean((2, 3), keepdim=True), content.std((2, 3), keepdim=True)
    s_mean, s_std = style.mean((2, 3), keepdim=True), style.std((2, 3), keepdim=True)
    return transfer(content, ((style - s_mean) / s_std * std + mean).clamp(0, 1))


def luminance_only(content, style, transfer):
    """Gatys et al.'s first way: transfer between the luminance channels, then add the content's colours."""
    grey = [to_ycbcr(x)[:, :1].expand(1, 3, -1, -1) for x in (content, style)]
    stylized = transfer(*grey)
    return to_rgb(torch.cat([to_ycbcr(stylized)[:, :1], to_ycbcr(content)[:, 1:]], 1))


@pytest.mark.parametrize("fn", [luminance_after, colours_matched_first, luminance_only])
def test_every_way_of_keeping_the_colours_passes(fn, capsys):
    check_colour_preserving_transfer(fn)
    out = capsys.readouterr().out
    assert out.startswith(f"✓ {fn.__name__}: the content's colours") and out.count("\n") == 1


def swapped_roles(content, style, transfer):
    stylized = transfer(content, style)
    return to_rgb(torch.cat([to_ycbcr(content)[:, :1], to_ycbcr(stylized)[:, 1:]], 1))


def unclamped(content, style, transfer):
    return luminance_only(content, style, transfer) * 1.2 - 0.1


@pytest.mark.parametrize("fn, match", [
    (lambda content, style, transfer: transfer(content, style), "returned the transfer's result as it is"),
    (lambda content, style, transfer: (transfer(content, style), content.clone())[1], "returned the content"),
    (lambda content, style, transfer: content.clone(), "never called transfer"),
    (swapped_roles, r"kept the content's brightness and the stylized colours"),
    (lambda content, style, transfer: transfer(style, content), "swapped content and style"),
    (lambda content, style, transfer: transfer(nh.match_histogram(content, style), style),
     "changed the content's colours before the transfer"),
    (unclamped, r"outside \[0, 1\]"),
    (lambda content, style, transfer: transfer(content, style)[..., :20, :], r"returned shape \(1, 3, 20, 32\)"),
    (lambda content, style, transfer: (0.8 * transfer(content, style) + 0.2 * content).clamp(0, 1),
     r"the colours are 0\.\d+ from the content's"),
    (lambda content, style, transfer: (0.1 * transfer(content, style) + 0.9 * content).clamp(0, 1),
     "the style's pattern barely shows"),
], ids=["plain", "content", "no-transfer", "swapped-roles", "swapped-arguments", "content-matched", "unclamped",
        "shape", "colours-off", "no-style"])
def test_each_planted_mistake_is_named(fn, match):
    with pytest.raises(AssertionError, match=match) as info:
        check_colour_preserving_transfer(fn)
    assert "\n" not in str(info.value)


def test_show_draws_a_figure():
    check_colour_preserving_transfer(luminance_after, show=True)
    assert plt.get_fignums()
