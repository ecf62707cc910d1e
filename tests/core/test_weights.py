import hashlib
import urllib.error

import pytest
import torch

import nst_helpers as nh
from nst_helpers.core import weights as W


def test_bundled_file_checksum_matches_constant():
    path = W.original_weights_path()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == W.ORIGINAL_SHA256


def test_dequantized_shapes_and_values():
    loaded = W.load_original()
    assert loaded.preprocessing == "caffe"
    assert len(loaded.state_dict) == 32
    for name, c_in, c_out in W.CONV_LAYERS:
        assert loaded.state_dict[f"{name}.weight"].shape == (c_out, c_in, 3, 3)
        assert loaded.state_dict[f"{name}.bias"].shape == (c_out,)
        # 8-bit quantization: at most 256 distinct values per kernel
        assert loaded.state_dict[f"{name}.weight"].unique().numel() <= 256
    # the first conv of the real VGG19 is far from zero and not constant
    assert loaded.state_dict["conv1_1.weight"].std() > 0.05


def test_tampered_original_is_rejected(tmp_path, monkeypatch):
    fake = tmp_path / W.ORIGINAL_FILE
    fake.write_bytes(W.original_weights_path().read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr(W, "original_weights_path", lambda: fake)
    with pytest.raises(W.WeightsError, match="SHA-256"):
        W.load_original()


def _torchvision_layout(seed=0):
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for (name, c_in, c_out), i in zip(W.CONV_LAYERS, W.TORCHVISION_CONV_INDICES):
        state[f"features.{i}.weight"] = torch.randn(c_out, c_in, 3, 3, generator=gen) * 0.05
        state[f"features.{i}.bias"] = torch.randn(c_out, generator=gen) * 0.01
    state["classifier.0.weight"] = torch.zeros(4, 4)  # ignored
    return state


def test_torchvision_layout_file_loads_with_torchvision_preprocessing(tmp_path):
    state = _torchvision_layout()
    path = tmp_path / "vgg19-test.pth"
    torch.save(state, path)
    vgg = nh.VGG19Features(weights=path, device="cpu", precision="fp32")
    assert vgg.preprocessing == "torchvision"
    assert torch.equal(vgg.layers["conv3_2"].weight, state["features.12.weight"])
    assert torch.equal(vgg.layers["conv5_4"].bias, state["features.34.bias"])
    x = torch.rand(1, 3, 32, 32)
    expected = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert torch.allclose(vgg.preprocess(x), expected)


def test_torchvision_source_uses_verified_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    (tmp_path / "checkpoints").mkdir()
    cached = tmp_path / "checkpoints" / W.TORCHVISION_FILE
    torch.save(_torchvision_layout(), cached)
    # Our file's hash cannot start with dcbb9e9d, so the check must refuse it ...
    with pytest.raises(W.WeightsError, match="SHA-256"):
        nh.VGG19Features(weights="torchvision", device="cpu")
    # ... and accept it once the expected prefix is what the hash starts with.
    monkeypatch.setattr(W, "TORCHVISION_FILE", "vgg19-" + W.sha256_of(cached)[:8] + ".pth")
    cached.rename(tmp_path / "checkpoints" / W.TORCHVISION_FILE)
    vgg = nh.VGG19Features(weights="torchvision", device="cpu")
    assert vgg.preprocessing == "torchvision" and "IMAGENET1K_V1" in vgg.weights_source


def test_torchvision_offline_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(W.WeightsError) as info:
        nh.VGG19Features(weights="torchvision", device="cpu")
    message = str(info.value)
    assert "\n" not in message
    assert "could not be downloaded" in message and "weights='original'" in message


def test_wrong_shape_names_the_layer(tmp_path):
    state = W.load_original().state_dict.copy()
    state["conv4_3.weight"] = torch.zeros(512, 256, 3, 3)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(W.WeightsError, match=r"conv4_3 weight has shape \(512, 256, 3, 3\)"):
        nh.VGG19Features(weights=path)


@pytest.mark.parametrize("content, match", [
    (b"", "not a loadable weights file"),
    (b"definitely not torch", "not a loadable weights file"),
])
def test_garbage_files_are_rejected(tmp_path, content, match):
    path = tmp_path / "w.pth"
    path.write_bytes(content)
    with pytest.raises(W.WeightsError, match=match):
        W.load_file(path)


def test_unknown_layout_and_missing_file(tmp_path):
    path = tmp_path / "w.pth"
    torch.save({"foo": torch.zeros(1)}, path)
    with pytest.raises(W.WeightsError, match="unknown layout"):
        W.load_file(path)
    with pytest.raises(W.WeightsError, match="not found"):
        W.load_file(tmp_path / "nope.pth")
    with pytest.raises(ValueError, match="weights must be"):
        W.load_weights(42)


def test_pickled_code_is_not_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pwned')",))

    path = tmp_path / "evil.pth"
    torch.save({"conv1_1.weight": Evil()}, path)
    with pytest.raises(W.WeightsError, match="not a loadable weights file"):
        W.load_file(path)
