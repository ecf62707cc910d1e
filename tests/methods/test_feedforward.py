"""The feed-forward style network (Johnson et al.): shapes, size, training, stopping, saving."""
import pickle

import pytest
import torch

import nst_helpers as nh
from nst_helpers.methods.fasttrain import FastTrainingSettings, train_feedforward
from nst_helpers.methods.feedforward import (NetworkFileError, TransformNet, count_flops, count_parameters,
                                             load_network, network_info, save_network, stylize)
from nst_helpers.methods.photos import random_crops
from nst_helpers.optimization.loop import StopOptimization

#: Tiny, fast training: 32 px crops, batch 2, CPU fp32.
TINY = dict(crop=32, batch_size=2, photo_size=64, style_size=64, device="cpu", precision="fp32", lr=0.01)


@pytest.fixture(scope="module")
def photos(content64):
    flipped = content64.flip(-2).contiguous()
    return [content64, flipped]


def params_of(network):
    return [p.detach().clone() for p in network.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("norm", ["instance", "batch"])
@pytest.mark.parametrize("upsample", ["resize", "transpose"])
@pytest.mark.parametrize("size", [(16, 16), (17, 23), (33, 64), (101, 30)])
def test_output_has_the_input_shape_and_range(norm, upsample, size):
    net = TransformNet(norm, upsample)
    out = net(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, *size)
    assert out.min() >= 0 and out.max() <= 1


def test_published_size_about_1_7_million_parameters():
    for upsample in ("resize", "transpose"):
        net = TransformNet(upsample=upsample)
        assert count_parameters(net) == 1_679_235
    convs = [m for m in TransformNet().modules() if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in convs] == [32, 64, 128] + [128] * 10 + [64, 32, 3]
    assert [m.stride[0] for m in convs[:3]] == [1, 2, 2]


def test_flops_count_a_single_convolution_by_hand():
    net = TransformNet()
    # the first layer alone: a 9x9 conv 3 -> 32 at every one of 64x64 pixels
    assert count_flops(net, 64, 64) > 2 * 64 * 64 * 32 * 3 * 81
    # resize-convolve does its 3x3 convs at the larger size: 4x the transposed conv's work there
    up_resize = 2 * (32 * 32 * 64 * 128 * 9 + 64 * 64 * 32 * 64 * 9)
    up_transpose = 2 * (16 * 16 * 128 * 64 * 9 + 32 * 32 * 64 * 32 * 9)
    difference = count_flops(net, 64, 64) - count_flops(TransformNet(upsample="transpose"), 64, 64)
    assert difference == up_resize - up_transpose


def test_bad_choices_name_the_parameter():
    with pytest.raises(ValueError, match="norm must be one of"):
        TransformNet(norm="layer")
    with pytest.raises(ValueError, match="upsample must be one of"):
        TransformNet(upsample="bilinear")
    with pytest.raises(ValueError, match="crop must be an integer >= 32"):
        FastTrainingSettings(crop=8)
    with pytest.raises(ValueError, match="colour: not a training setting"):
        FastTrainingSettings().replace(colour=1)
    with pytest.raises(ValueError, match="image: expected"):
        TransformNet()(torch.rand(1, 3, 8, 8))


def test_random_crops_are_crops_of_the_photos():
    photo = torch.rand(1, 3, 40, 50)
    batch = random_crops([photo], 6, 32, torch.Generator().manual_seed(0))
    assert batch.shape == (6, 3, 32, 32)
    windows = photo.unfold(2, 32, 1).unfold(3, 32, 1)  # (1, 3, 9, 19, 32, 32)
    for crop in batch:
        found = any(torch.equal(crop, windows[0, :, i, j]) or torch.equal(crop.flip(-1), windows[0, :, i, j])
                    for i in range(9) for j in range(19))
        assert found


def test_tiny_training_run_lowers_the_loss(photos, style64):
    result = train_feedforward(style64, photos, 40, progress=False, **TINY)
    total = result.history["total"]
    assert len(total) == 40 and result.steps == 40 and not result.skipped
    assert sum(total[-5:]) / 5 < 0.7 * sum(total[:5]) / 5
    assert not result.network.training
    out = stylize(result.network, photos[0])
    assert out.shape == photos[0].shape


def test_a_non_finite_batch_is_skipped_and_changes_nothing(photos, style64, monkeypatch):
    net = TransformNet(norm="batch")
    forward = net.forward
    calls = {"n": 0}

    def sometimes_nan(image):
        calls["n"] += 1
        out = forward(image)
        return out * float("nan") if calls["n"] == 2 else out

    monkeypatch.setattr(net, "forward", sometimes_nan)
    before = {}

    def snapshot(step, losses, network):
        before[step] = (params_of(network), [b.clone() for b in network.buffers()])

    result = train_feedforward(style64, photos, 3, network=net, callback=snapshot, callback_every=1,
                               progress=False, **TINY)
    assert result.skipped == [2]
    assert len(result.history["total"]) == 2
    assert sorted(before) == [1, 3]
    assert all(torch.isfinite(p).all() for p in net.parameters())
    assert all(torch.isfinite(b.float()).all() for b in net.buffers())


def test_every_batch_non_finite_leaves_the_weights_and_stops(photos, style64, monkeypatch):
    net = TransformNet(norm="batch")
    start = params_of(net)
    buffers = [b.clone() for b in net.buffers()]
    forward = net.forward
    monkeypatch.setattr(net, "forward", lambda image: forward(image * float("nan")))
    with pytest.warns(RuntimeWarning, match="not finite"):
        result = train_feedforward(style64, photos, 50, network=net, progress=False, **TINY)
    assert result.steps == 10 and len(result.skipped) == 10
    assert same(start, params_of(net))
    assert same(buffers, [b.clone() for b in net.buffers()])


@pytest.mark.parametrize("stop", [StopOptimization, KeyboardInterrupt])
def test_stop_keeps_the_weights_so_far(photos, style64, stop):
    kept = {}

    def callback(step, losses, network):
        kept["params"] = params_of(network)
        if step == 3:
            raise stop()

    net = TransformNet()
    start = params_of(net)
    result = train_feedforward(style64, photos, 20, network=net, callback=callback, callback_every=1,
                               progress=False, **TINY)
    assert result.interrupted and result.steps == 3
    assert result.network is net and not same(start, params_of(net))
    assert same(kept["params"], params_of(net))


def test_save_and_load_round_trip_with_weights_only(tmp_path, photos, style64):
    result = train_feedforward(style64, photos, 2, progress=False, **TINY, norm="batch", upsample="transpose")
    path = save_network(result.network, tmp_path / "net.pt", info=result.info(style="tiny"))
    raw = torch.load(path, weights_only=True)
    assert raw["config"] == {"norm": "batch", "upsample": "transpose"}
    loaded = load_network(path)
    assert loaded.config == result.network.config and not loaded.training
    assert torch.equal(stylize(loaded, photos[0]), stylize(result.network, photos[0]))
    info = network_info(path)
    assert info["style"] == "tiny" and info["steps"] == 2 and info["settings"]["crop"] == 32
    assert not list(tmp_path.glob(".tmp-*"))


def one_line_error(path):
    with pytest.raises(NetworkFileError) as e:
        load_network(path)
    message = str(e.value)
    assert str(path) in message and "\n" not in message
    return message


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_corrupt_or_foreign_files_give_one_line(tmp_path):
    assert "not found" in one_line_error(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00garbage" * 100)
    assert "not a readable network file" in one_line_error(junk)
    truncated = tmp_path / "truncated.pt"
    save_network(TransformNet(), truncated)
    truncated.write_bytes(truncated.read_bytes()[:5000])
    assert "not a readable network file" in one_line_error(truncated)
    foreign = tmp_path / "vgg.pt"
    torch.save({"conv1_1.weight": torch.zeros(64, 3, 3, 3)}, foreign)
    assert "not a feed-forward style network" in one_line_error(foreign)
    unsafe = tmp_path / "unsafe.pt"
    unsafe.write_bytes(pickle.dumps(TransformNet))
    assert "not a readable network file" in one_line_error(unsafe)
    wrong = tmp_path / "wrong.pt"
    save_network(TransformNet(), wrong)
    payload = torch.load(wrong, weights_only=True)
    payload["state_dict"]["tail.conv.weight"] = torch.zeros(3, 32, 3, 3)
    torch.save(payload, wrong)
    assert "weights do not fit a TransformNet" in one_line_error(wrong)
    del payload["state_dict"]["tail.conv.weight"]
    torch.save(payload, wrong)
    assert "weights do not fit a TransformNet" in one_line_error(wrong)
    payload["config"] = {"norm": "group", "upsample": "resize"}
    torch.save(payload, wrong)
    assert "is not a TransformNet's" in one_line_error(wrong)


def test_public_names_are_exported():
    for name in ("TransformNet", "train_feedforward", "FastTrainingSettings", "stylize", "save_network",
                 "load_network", "NetworkFileError", "load_photos"):
        assert hasattr(nh, name), name
