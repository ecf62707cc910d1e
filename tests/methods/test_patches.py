"""Li & Wand's patch (MRF) loss: patch extraction, nearest-neighbour matching, the loss, patch_transfer."""
import pytest
import torch

from nst_helpers.methods.patches import (extract_patches, match_patches, patch_style_loss, patch_transfer,
                                    style_patches_of)

FAST = dict(device="cpu", precision="fp32", progress=False)


def relu_features(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).relu()


@pytest.mark.parametrize("h, w, size, stride", [(7, 9, 3, 1), (8, 8, 3, 2), (10, 6, 2, 3), (5, 5, 5, 1), (3, 8, 3, 1)])
def test_extract_patches_count_shape_and_order(h, w, size, stride):
    features = relu_features(1, 4, h, w, seed=0)
    patches = extract_patches(features, size, stride)
    count = ((h - size) // stride + 1) * ((w - size) // stride + 1)
    assert patches.shape == (count, 4, size, size)
    assert torch.equal(patches[0], features[0, :, :size, :size])
    per_row = (w - size) // stride + 1
    if per_row > 1:
        assert torch.equal(patches[1], features[0, :, :size, stride:stride + size]), "row by row"
    if count > per_row:
        assert torch.equal(patches[per_row], features[0, :, stride:stride + size, :size])


def test_nearest_neighbour_finds_the_exact_patch():
    style = relu_features(1, 8, 9, 11, seed=1)
    image = style[..., 2:8, 3:9]  # made of style patches: image patch (i, j) is style patch (i + 2, j + 3)
    found = match_patches(image, extract_patches(style))
    rows, cols = torch.meshgrid(torch.arange(4), torch.arange(4), indexing="ij")
    expected = ((rows + 2) * (11 - 2) + cols + 3).flatten()
    assert torch.equal(found, expected)


def test_matching_is_normalized_cross_correlation():
    """A bright flat patch must not win over the patch with the same pattern."""
    pattern = relu_features(1, 3, 3, 3, seed=2)
    bright = torch.full((1, 3, 3, 3), 10.0)
    assert (pattern * bright).sum() > (pattern * pattern).sum(), "a plain dot product would prefer `bright`"
    assert match_patches(pattern, torch.cat([pattern, bright])).tolist() == [0]


def test_patch_style_loss_is_zero_on_the_style_and_positive_elsewhere():
    style = relu_features(1, 6, 8, 8, seed=4)
    patches = extract_patches(style)
    assert patch_style_loss(style, patches).item() == pytest.approx(0.0, abs=1e-10)
    image = relu_features(1, 6, 8, 8, seed=5).requires_grad_()
    loss = patch_style_loss(image, patches)
    assert loss.item() > 0.01
    loss.backward()
    assert image.grad.abs().sum() > 0, "differentiable with respect to the features"


def test_patch_style_loss_value_is_the_mse_to_the_matched_patches():
    style = relu_features(1, 5, 6, 7, seed=6)
    image = relu_features(1, 5, 5, 5, seed=7)
    patches = extract_patches(style)
    matched = patches[match_patches(image, patches)]
    expected = (extract_patches(image) - matched).pow(2).mean()
    assert patch_style_loss(image, patches).item() == pytest.approx(expected.item(), rel=1e-6)


def test_style_patches_are_subsampled_with_a_seed():
    features = relu_features(1, 2, 12, 12, seed=8)
    assert len(style_patches_of(features, 3, 1000, seed=0)) == 100
    a, b = style_patches_of(features, 3, 30, seed=0), style_patches_of(features, 3, 30, seed=0)
    assert a.shape == (30, 2, 3, 3) and torch.equal(a, b)
    assert not torch.equal(a, style_patches_of(features, 3, 30, seed=1))


def test_patch_transfer_lowers_its_style_loss(content64, style64):
    result = patch_transfer(content64[..., :48, :48], style64[..., :48, :48], steps=10, style_weight=3.0, **FAST)
    assert set(result.history) == {"total", "content", "style", "tv"}
    assert len(result.history["total"]) == 10
    assert result.history["style"][-1] < 0.8 * result.history["style"][0]
    assert result.history["total"][-1] < result.history["total"][0]
    assert result.image.shape == (1, 3, 48, 48)
    assert 0 <= result.image.min() and result.image.max() <= 1


@pytest.mark.parametrize("kwargs, match", [
    ({"style_weight": -1.0}, "^style_weight must be a finite number >= 0"),
    ({"content_weight": float("nan")}, "^content_weight must be a finite number >= 0"),
    ({"steps": 1.5}, "^steps must be a positive integer"),
    ({"patch_size": 0}, "^patch_size must be a positive integer, got 0$"),
    ({"max_patches": True}, "^max_patches must be a positive integer"),
    ({"content_layer": "relu6_1"}, "^content_layer: unknown layer 'relu6_1'"),
    ({"style_layers": ["relu5_1"]}, r"^content: 32x32 is too small for 3x3 patches at relu5_1 \(2x2 features\)"),
    ({"optimizer": "sgd"}, "^optimizer must be one of"),
])
def test_bad_parameters_are_one_line_errors(content64, style64, kwargs, match):
    with pytest.raises(ValueError, match=match) as error:
        patch_transfer(content64[..., :32, :32], style64, **{**FAST, **kwargs})
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("call, match", [
    (lambda: extract_patches(torch.rand(2, 3, 5, 5)), "^features: expected one image"),
    (lambda: extract_patches(torch.rand(5, 5)), r"^features: expected features of shape \(N, C, h, w\)"),
    (lambda: extract_patches(torch.rand(1, 3, 5, 5), size=6), "^size: 6 is larger than the features' 5x5$"),
    (lambda: extract_patches(torch.rand(1, 3, 5, 5), stride=0), "^stride must be a positive integer"),
    (lambda: patch_style_loss(torch.rand(1, 4, 5, 5), torch.rand(9, 3, 3, 3)), r"^style_patches: shape \(9, 3, 3, 3\)"),
    (lambda: patch_style_loss(torch.rand(1, 3, 5, 5), torch.rand(9, 3, 3, 3), size=2), "^style_patches: shape"),
    (lambda: match_patches(torch.rand(1, 3, 5, 5), torch.rand(3, 3)), r"^style_patches: expected \(P, C, size, size\)"),
    (lambda: match_patches(torch.rand(2, 3, 5, 5), torch.rand(4, 3, 3, 3)), "^features: expected one image"),
    (lambda: match_patches(torch.rand(1, 3, 5, 5), [1, 2]), r"^style_patches: expected \(P, C, size, size\)"),
    (lambda: match_patches(torch.rand(1, 3, 2, 5), torch.rand(4, 3, 3, 3)), "^features: 5x2 is smaller than the 3x3"),
])
def test_bad_inputs_are_one_line_errors(call, match):
    with pytest.raises(ValueError, match=match) as error:
        call()
    assert "\n" not in str(error.value)
