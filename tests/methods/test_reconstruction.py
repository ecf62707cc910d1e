import pytest
import torch
import torch.nn.functional as F

import nst_helpers as nh
from nst_helpers.methods.reconstruction import reconstruct_content, start_image, synthesize_texture
from nst_helpers.notebook.runmode import choose, quick_mode

FP32 = dict(device="cpu", precision="fp32", progress=False)


def test_content_reconstruction_converges(content64):
    result = reconstruct_content(content64, "relu2_2", steps=30, **FP32)
    loss = result.history["content"]
    assert loss[0] > 0.3, "normalized by the target's mean square, the start is of order 1"
    assert loss[-1] < loss[0] / 20
    coarse = lambda image: F.avg_pool2d(image, 4)  # noqa: E731 (pixel-level noise fades last)
    start_error = (coarse(start_image(content64.shape, "noise")) - coarse(content64)).abs().mean()
    assert (coarse(result.image) - coarse(content64)).abs().mean() < start_error / 3, "shallow layers keep pixels"


def test_tv_term_is_recorded_and_smooths(content64):
    plain = reconstruct_content(content64, "relu4_2", steps=15, **FP32)
    smooth = reconstruct_content(content64, "relu4_2", steps=15, tv_weight=1.0, **FP32)
    assert "tv" in smooth.history and "tv" not in plain.history
    assert nh.tv_loss(smooth.image) < nh.tv_loss(plain.image)


def test_start_images():
    shape = (1, 3, 8, 8)
    assert torch.equal(start_image(shape, "zeros"), torch.zeros(shape))
    assert torch.equal(start_image(shape, "gray"), torch.full(shape, 0.5))
    small = start_image(shape, "noise", seed=1, noise_scale=0.1)
    assert (small - 0.5).abs().max() <= 0.05 + 1e-6
    assert torch.equal(small, start_image(shape, "noise", seed=1, noise_scale=0.1))
    with pytest.raises(ValueError, match="start must be one of"):
        start_image(shape, "ones")
    with pytest.raises(ValueError, match="differs"):
        start_image(shape, torch.zeros(1, 3, 4, 4))


def test_texture_synthesis_matches_grams(style64):
    result = synthesize_texture(style64, ["relu1_1", "relu2_1"], size=(48, 40), steps=30, **FP32)
    assert result.image.shape == (1, 3, 48, 40)
    assert result.history["style"][0] == pytest.approx(1.0, rel=0.05), "normalized to start at 1"
    assert result.history["style"][-1] < 0.1


@pytest.mark.parametrize("call, match", [
    (lambda s: synthesize_texture(s, [], **FP32), "at least one layer"),
    (lambda s: synthesize_texture(s, ["relu1_1"], size=(8, 8), **FP32), "too small"),
    (lambda s: reconstruct_content(s, "relu4_2", steps=0, **FP32), "steps"),
    (lambda s: reconstruct_content(s, "relu4_2", tv_weight=-1, **FP32), "tv_weight"),
    (lambda s: reconstruct_content(s, "conv9_9", **FP32), "unknown layer"),
])
def test_bad_arguments(style64, call, match):
    with pytest.raises(ValueError, match=match):
        call(style64)


def test_quick_mode(monkeypatch):
    monkeypatch.setenv("NST_QUICK", "1")
    assert quick_mode() and choose(quick=1, cpu=2, gpu=3) == 1
    monkeypatch.setenv("NST_QUICK", "0")
    assert not quick_mode()
    expected = 3 if nh.default_device().type != "cpu" else 2
    assert choose(quick=1, cpu=2, gpu=3) == expected
