"""Several styles: blending and masks."""
import pytest
import torch

import nst_helpers as nh
from nst_helpers.methods import setup as transfer
from nst_helpers.core.losses import gram_matrix, masked_gram_matrix, style_loss
from nst_helpers.methods.styles import blend_weights, check_masks, split_masks

FAST = dict(steps=8, device="cpu", precision="fp32", progress=False)


def flat_noise(colour, seed, size=48):
    g = torch.Generator().manual_seed(seed)
    return (torch.tensor(colour).view(1, 3, 1, 1) + 0.15 * torch.randn(1, 3, size, size, generator=g)).clamp(0, 1)


@pytest.mark.parametrize("style, match", [
    ([], "list of style images is empty"),
    ("starry.jpg", "expected an image tensor or a list"),
])
def test_no_style_is_a_one_line_error_before_vgg_is_built(content64, style, match, monkeypatch):
    monkeypatch.setattr(transfer, "get_extractor", lambda *a, **k: pytest.fail("VGG built before the check"))
    with pytest.raises(ValueError, match=match) as info:
        nh.style_transfer(content64, style, **FAST)
    assert "\n" not in str(info.value)


def test_blend_weights_are_normalized_and_checked():
    assert blend_weights(None, 4) == [0.25] * 4
    assert blend_weights([3, 1], 2) == [0.75, 0.25]
    for bad, match in [([1], "1 weights for 2"), ([1, -1], ">= 0"), ([0, 0], "all zero"),
                       ([1, float("nan")], ">= 0")]:
        with pytest.raises(ValueError, match=match):
            blend_weights(bad, 2)


def test_masks_are_checked_and_resized():
    left, right = split_masks(10, 20, feather=0)
    out = check_masks([left, right[0, 0]], 2, 30, 40)
    assert [tuple(m.shape) for m in out] == [(1, 1, 30, 40)] * 2
    for masks, match in [([left], "one mask per style"), (left, "single tensor"),
                         ([left, torch.ones(3, 10, 20)], r"style_masks\[1\]: expected shape"),
                         ([left, right * 2], r"style_masks\[1\]: values must be in \[0, 1\]"),
                         ([torch.zeros(10, 20)] * 2, "every mask is empty")]:
        with pytest.raises(ValueError, match=match):
            check_masks(masks, 2, 30, 40)


def test_split_masks_add_up_to_one_and_split_where_asked():
    left, right = split_masks(8, 100, position=0.3, feather=0.1)
    assert torch.allclose(left + right, torch.ones_like(left))
    assert left[0, 0, 0, 0] == 1 and left[0, 0, 0, -1] == 0
    assert left[0, 0, 0, 20] == 1 and left[0, 0, 0, 40] == 0 and 0 < left[0, 0, 0, 30] < 1  # soft edge at 0.3
    top, _ = split_masks(100, 8, direction="horizontal", feather=0)
    assert top[0, 0, 49, 0] == 1 and top[0, 0, 50, 0] == 0
    with pytest.raises(ValueError, match="direction"):
        split_masks(8, 8, direction="diagonal")


def test_masked_gram_sees_only_its_region_at_its_own_scale():
    a, b = torch.randn(1, 4, 6, 5), 3 * torch.randn(1, 4, 6, 5)
    assert torch.allclose(masked_gram_matrix(a, torch.ones(1, 1, 6, 5)), gram_matrix(a), atol=1e-6)
    both = torch.cat([a, b], dim=-1)  # a on the left half, b on the right
    left = torch.cat([torch.ones(1, 1, 6, 5), torch.zeros(1, 1, 6, 5)], dim=-1)
    assert torch.allclose(masked_gram_matrix(both, left), gram_matrix(a), atol=1e-5)
    assert not torch.allclose(masked_gram_matrix(both, left), gram_matrix(both), atol=1e-2)


def test_blending_grams_has_the_gradient_of_blending_losses():
    grams = [{"x": torch.randn(1, 4, 4)} for _ in range(3)]
    weights = [0.5, 0.3, 0.2]
    f1 = torch.randn(1, 4, 5, 5, requires_grad=True)
    mixed = {"x": sum(w * g["x"] for w, g in zip(weights, grams))}
    style_loss({"x": f1}, mixed).backward()
    f2 = f1.detach().clone().requires_grad_(True)
    sum(w * style_loss({"x": f2}, g) for w, g in zip(weights, grams)).backward()
    assert torch.allclose(f1.grad, f2.grad, atol=1e-6)


def test_a_blend_of_one_and_zero_is_the_single_style(content64, style64):
    other = flat_noise((0.2, 0.3, 0.9), 1)
    single = nh.style_transfer(content64, style64, **FAST).image
    blended = nh.style_transfer(content64, [style64, other], style_blend=[1, 0], **FAST).image
    assert torch.allclose(single, blended, atol=1e-5)
    half = nh.style_transfer(content64, [style64, other], style_blend=[1, 1], **FAST).image
    assert (half - single).abs().mean() > 1e-3


def test_masks_paint_each_style_in_its_own_region(content64):
    red, blue = flat_noise((0.9, 0.15, 0.1), 1), flat_noise((0.1, 0.2, 0.9), 2)
    h, w = content64.shape[-2:]
    masks = split_masks(h, w, feather=0)
    out = nh.style_transfer(content64, [red, blue], style_masks=masks, content_weight=0.01, tv_weight=0,
                            optimizer="adam", lr=0.05, **{**FAST, "steps": 60}).image
    redness = out[0, 0] - out[0, 2]
    assert redness[:, : w // 2 - 4].mean() > redness[:, w // 2 + 4:].mean() + 0.3
