import pytest
import torch

import nst_helpers as nh


def test_layer_names_follow_vgg19():
    names = nh.layer_names()
    assert len(names) == 16 + 16 + 4
    assert names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert names[-2:] == ["conv5_4", "relu5_4"]
    assert names.index("pool3") == names.index("relu3_4") + 1
    assert "conv4_2" in names and "relu4_2" in names and "conv3_5" not in names


def test_features_shapes_and_keys(vgg):
    image = torch.rand(1, 3, 64, 96)
    out = vgg.features(image, ["relu1_1", "conv2_1", "pool2", "relu5_1"])
    assert set(out) == {"relu1_1", "conv2_1", "pool2", "relu5_1"}
    assert out["relu1_1"].shape == (1, 64, 64, 96)
    assert out["conv2_1"].shape == (1, 128, 32, 48)
    assert out["pool2"].shape == (1, 128, 16, 24)
    assert out["relu5_1"].shape == (1, 512, 4, 6)
    assert (out["relu1_1"] >= 0).all() and (out["conv2_1"] < 0).any()


def test_forward_stops_at_deepest_requested_layer(vgg):
    ran = []
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: ran.append(n)) for n, m in vgg.layers.items()]
    try:
        vgg.features(torch.rand(1, 3, 32, 32), ["relu2_1"])
    finally:
        for h in hooks:
            h.remove()
    assert ran[-1] == "relu2_1"
    assert "conv2_2" not in ran


def test_unknown_layer_lists_valid_names(vgg):
    with pytest.raises(ValueError, match=r"unknown layer 'relu6_1'; valid names are conv1_1, relu1_1"):
        vgg.features(torch.rand(1, 3, 32, 32), ["relu6_1"])


def test_weights_are_frozen(vgg):
    assert all(not p.requires_grad for p in vgg.parameters())
    image = torch.rand(1, 3, 32, 32, requires_grad=True)
    vgg.features(image, ["relu3_1"])["relu3_1"].sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg.parameters())


def test_caffe_preprocessing_round_trip(vgg):
    image = torch.rand(1, 3, 8, 8)
    x = vgg.preprocess(image)
    # BGR, 0-255, mean removed: the blue channel comes first
    assert torch.allclose(x[:, 0], image[:, 2] * 255 - 103.939, atol=1e-4)
    assert torch.allclose(x[:, 2], image[:, 0] * 255 - 123.68, atol=1e-4)
    assert torch.allclose(vgg.deprocess(x), image, atol=1e-5)


def test_pooling_choice_changes_deep_features(vgg):
    vgg_max = nh.VGG19Features(pooling="max", device="cpu", precision="fp32")
    image = torch.rand(1, 3, 32, 32)
    assert isinstance(vgg_max.layers["pool1"], torch.nn.MaxPool2d)
    assert not torch.allclose(vgg.features(image, ["relu3_1"])["relu3_1"],
                              vgg_max.features(image, ["relu3_1"])["relu3_1"])
    with pytest.raises(ValueError, match="pooling"):
        nh.VGG19Features(pooling="min")


def test_bf16_features_match_fp32(vgg):
    fast = nh.VGG19Features(device="cpu", precision="bf16")
    image = torch.rand(1, 3, 48, 48)
    a = vgg.features(image, ["relu4_1"])["relu4_1"]
    b = fast.features(image, ["relu4_1"])["relu4_1"]
    assert b.dtype == torch.float32
    assert (a - b).norm() / a.norm() < 0.05
    # the gradient with respect to the image, which is what style transfer follows, agrees too
    grads = []
    for extractor in (vgg, fast):
        x = image.clone().requires_grad_(True)
        extractor.features(x, ["relu4_1"])["relu4_1"].pow(2).mean().backward()
        assert x.grad.dtype == torch.float32
        grads.append(x.grad.flatten())
    assert torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0) > 0.97


def test_bad_image_shape_is_a_clear_error(vgg):
    with pytest.raises(ValueError, match=r"image: expected a tensor of shape \(N, 3, H, W\)"):
        vgg.features(torch.rand(3, 32, 32), ["relu1_1"])


def test_device_selection():
    assert nh.default_device().type in ("cuda", "mps", "cpu")
    with pytest.raises(ValueError, match="device"):
        nh.VGG19Features(device="banana")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_features_match_cpu(vgg):
    gpu = nh.VGG19Features(device="cuda", precision="fp32")
    image = torch.rand(1, 3, 64, 64)
    a = vgg.features(image, ["relu4_1"])["relu4_1"]
    b = gpu.features(image, ["relu4_1"])["relu4_1"].cpu()
    assert (a - b).norm() / a.norm() < 1e-3
