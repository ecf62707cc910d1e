"""AdaIN's feature statistics: channel mean/std, adain, the mean/std style loss and adain_transfer."""
import pytest
import torch

from nst_helpers.methods.adain import EPS, adain, adain_transfer, channel_mean_std, mean_std_loss

FAST = dict(device="cpu", precision="fp32", progress=False)


def features(*shape, seed, scale=1.0, shift=0.0):
    """Seeded random features whose channels have different means and spreads."""
    generator = torch.Generator().manual_seed(seed)
    channel_scale = torch.linspace(0.5, 3.0, shape[1]).view(1, -1, 1, 1) * scale
    channel_shift = torch.linspace(-2.0, 4.0, shape[1]).view(1, -1, 1, 1) + shift
    return torch.randn(*shape, generator=generator) * channel_scale + channel_shift


def test_channel_mean_std_shapes_and_values():
    f = features(2, 5, 6, 7, seed=0)
    mean, std = channel_mean_std(f)
    assert mean.shape == std.shape == (2, 5, 1, 1)
    flat = f.flatten(2)
    assert torch.allclose(mean[..., 0, 0], flat.mean(2), atol=1e-6)
    assert torch.allclose(std[..., 0, 0], (flat.var(2, unbiased=False) + EPS).sqrt(), atol=1e-6)


def test_constant_channel_has_std_sqrt_eps_not_zero():
    _, std = channel_mean_std(torch.full((1, 2, 4, 4), 3.0))
    assert torch.allclose(std, torch.full_like(std, EPS ** 0.5))


def test_adain_has_the_styles_statistics_and_the_contents_pattern():
    content, style = features(2, 4, 6, 5, seed=1), features(2, 4, 9, 3, seed=2, scale=4.0, shift=10.0)
    out = adain(content, style)
    assert out.shape == content.shape
    out_mean, out_std = channel_mean_std(out)
    style_mean, style_std = channel_mean_std(style)
    assert torch.allclose(out_mean, style_mean, atol=1e-4)
    assert torch.allclose(out_std, style_std, atol=1e-4)
    normalized = lambda x: (x - channel_mean_std(x)[0]) / channel_mean_std(x)[1]  # noqa: E731
    assert torch.allclose(normalized(out), normalized(content), atol=1e-4)


def test_adain_of_a_constant_channel_is_finite():
    content = features(1, 3, 4, 4, seed=3)
    content[:, 1] = 7.0
    out = adain(content, features(1, 3, 5, 5, seed=4))
    assert torch.isfinite(out).all()


def test_mean_std_loss_is_zero_for_equal_statistics_and_positive_otherwise():
    style = {"a": features(1, 4, 6, 6, seed=5), "b": features(1, 8, 3, 3, seed=6)}
    same_stats = {name: f.flip(-1).transpose(-1, -2) for name, f in style.items()}  # rearranged, same statistics
    assert mean_std_loss(same_stats, style).item() == pytest.approx(0.0, abs=1e-8)
    stats = {name: channel_mean_std(f) for name, f in style.items()}
    assert mean_std_loss(same_stats, stats).item() == pytest.approx(0.0, abs=1e-8)
    shifted = {"a": style["a"] + 1.0, "b": style["b"]}
    assert mean_std_loss(shifted, style).item() == pytest.approx(0.5 * 1.0, rel=1e-4), "mean term, weight 1/2"
    scaled = {"a": style["a"], "b": style["b"] * 2}
    expected = 0.5 * channel_mean_std(style["b"])[0].pow(2).mean() + 0.5 * channel_mean_std(style["b"])[1].pow(2).mean()
    assert mean_std_loss(scaled, style).item() == pytest.approx(expected.item(), rel=1e-3)
    weighted = mean_std_loss(shifted, style, {"a": 3.0, "b": 1.0})
    assert weighted.item() == pytest.approx(3.0, rel=1e-4)


def test_mean_std_loss_gradient_reaches_the_features():
    image = features(1, 4, 6, 6, seed=7).requires_grad_()
    mean_std_loss({"a": image}, {"a": features(1, 4, 5, 5, seed=8)}).backward()
    assert image.grad.abs().sum() > 0


def test_adain_transfer_lowers_its_losses(content64, style64):
    result = adain_transfer(content64[..., :48, :48], style64[..., :48, :48], steps=12, **FAST)
    assert set(result.history) == {"total", "content", "style", "tv"}
    assert len(result.history["total"]) == 12
    history = result.history
    assert history["total"][-1] < history["total"][0] / 2
    assert history["style"][-1] < history["style"][0] / 2
    assert history["content"][-1] < history["content"][0], "the image moves towards the AdaIN target"
    assert result.image.shape == (1, 3, 48, 48)
    assert 0 <= result.image.min() and result.image.max() <= 1


def test_alpha_zero_targets_the_content_features(content64, style64):
    """With alpha = 0 and init = content the target is already met: the content term starts at 0."""
    result = adain_transfer(content64[..., :32, :32], style64[..., :32, :32], steps=1, alpha=0.0, **FAST)
    assert result.history["content"][0] == pytest.approx(0.0, abs=1e-6)
    full = adain_transfer(content64[..., :32, :32], style64[..., :32, :32], steps=1, alpha=1.0, **FAST)
    assert full.history["content"][0] > 1.0


@pytest.mark.parametrize("kwargs, match", [
    ({"alpha": 1.5}, r"^alpha must be a number in \[0, 1\], got 1.5$"),
    ({"alpha": float("nan")}, r"^alpha must be a number in \[0, 1\]"),
    ({"style_weight": -1.0}, "^style_weight must be a finite number >= 0"),
    ({"tv_weight": float("inf")}, "^tv_weight must be a finite number >= 0"),
    ({"steps": 0}, "^steps must be a positive integer"),
    ({"layer": "relu9_9"}, "^layer: unknown layer 'relu9_9'"),
    ({"style_layers": []}, "^style_layers: give at least one layer"),
    ({"optimizer": "sgd"}, "^optimizer must be one of"),
    ({"init": "zeros"}, "^init must be one of"),
])
def test_bad_parameters_are_one_line_errors(content64, style64, kwargs, match):
    with pytest.raises(ValueError, match=match) as error:
        adain_transfer(content64, style64, **{**FAST, **kwargs})
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("call, match", [
    (lambda: channel_mean_std(torch.rand(3, 4, 4)),
     r"^features: expected features of shape \(N, C, h, w\), got \(3, 4, 4\)$"),
    (lambda: adain(torch.rand(1, 4, 3, 3), torch.rand(1, 5, 3, 3)), r"^style_features: \(N, C\) = \(1, 5\) differs"),
    (lambda: adain([1.0], torch.rand(1, 5, 3, 3)), "^content_features: expected features"),
    (lambda: mean_std_loss({"a": torch.rand(1, 2, 3, 3)}, {"a": "x"}), r"^style_features_or_stats\['a'\]: expected"),
    (lambda: mean_std_loss({"a": torch.rand(1, 2, 3, 3)}, {"b": torch.rand(1, 2, 3, 3)}), "^features: no layer 'b'"),
    (lambda: adain_transfer(torch.rand(3, 32, 32), torch.rand(1, 3, 32, 32)), r"^content: expected shape"),
])
def test_bad_inputs_are_one_line_errors(call, match):
    with pytest.raises(ValueError, match=match) as error:
        call()
    assert "\n" not in str(error.value)
