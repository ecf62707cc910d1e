import pytest
import torch

import nst_helpers as nh


def test_small_transfer_lowers_style_loss_tenfold(content64, style64):
    result = nh.style_transfer(content64, style64, steps=20, seed=0, progress=False, device="cpu")
    style = result.history["style"]
    assert set(result.history) == {"total", "content", "style", "tv"}
    assert len(style) == 20
    assert style[-1] < style[0] / 10
    assert result.image.shape == content64.shape
    assert result.image.min() >= 0 and result.image.max() <= 1
    assert not torch.allclose(result.image, content64, atol=0.05), "the image must actually change"


def test_same_seed_same_result(content64, style64):
    kwargs = dict(steps=5, init="noise", seed=3, progress=False, device="cpu", precision="fp32")
    a = nh.style_transfer(content64, style64, **kwargs).image
    b = nh.style_transfer(content64, style64, **kwargs).image
    c = nh.style_transfer(content64, style64, **{**kwargs, "seed": 4}).image
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("init", ["content", "noise", "style"])
def test_inits_have_content_shape(content64, style64, init):
    result = nh.style_transfer(content64, style64, steps=2, init=init, progress=False, device="cpu")
    assert result.image.shape == content64.shape


def test_per_layer_weights_and_styles_of_other_size(content64):
    style = torch.rand(1, 3, 40, 72)
    result = nh.style_transfer(content64, style, steps=2, progress=False, device="cpu",
                               style_layers={"relu1_1": 1.0, "relu3_1": 0.0}, content_layers=["conv4_2"])
    assert len(result.history["style"]) == 2


@pytest.mark.parametrize("kwargs, match", [
    ({"style_weight": -1.0}, "style_weight must be a finite number >= 0"),
    ({"content_weight": float("nan")}, "content_weight must be a finite number >= 0"),
    ({"tv_weight": float("inf")}, "tv_weight must be a finite number >= 0"),
    ({"steps": 0}, "steps must be a positive integer"),
    ({"style_layers": ["relu9_9"]}, "style_layers: unknown layer 'relu9_9'; valid names are"),
    ({"style_layers": []}, "style_layers: give at least one layer"),
    ({"init": "zeros"}, "init must be one of"),
    ({"init": torch.rand(1, 3, 10, 10)}, "init: expected shape|too small"),
    ({"optimizer": "sgd"}, "optimizer must be one of"),
])
def test_bad_parameters_are_clear_errors(content64, style64, kwargs, match):
    with pytest.raises(ValueError, match=match):
        nh.style_transfer(content64, style64, progress=False, device="cpu", **kwargs)


def test_bad_images_are_clear_errors(content64):
    with pytest.raises(ValueError, match=r"style: expected shape \(1, 3, H, W\)"):
        nh.style_transfer(content64, torch.rand(3, 64, 64), progress=False)
    with pytest.raises(ValueError, match="content: contains NaN"):
        nh.style_transfer(content64 * float("nan"), content64, progress=False)
    with pytest.raises(ValueError, match="style: expected an image tensor"):
        nh.style_transfer(content64, "data/style/starry_night.jpg", progress=False)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_transfer_matches_the_cpu(content64, style64):
    kwargs = dict(steps=30, precision="fp32", progress=False)
    gpu = nh.style_transfer(content64, style64, device="cuda", **kwargs)
    cpu = nh.style_transfer(content64, style64, device="cpu", **kwargs)
    assert gpu.image.device.type == "cuda"
    assert gpu.history["total"][-1] == pytest.approx(cpu.history["total"][-1], rel=0.03)
    assert (gpu.image.cpu() - cpu.image).abs().mean() < 0.02
