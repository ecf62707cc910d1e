import os
import re

import pytest
import torch

import nst_helpers as nh
from nst_helpers.optimization.optimizers import LBFGS_HISTORY
from nst_helpers import cli
from nst_helpers.methods import setup as gatys_setup
from nst_helpers.optimization import memory
from nst_helpers.optimization.memory import (SIDE_STEP, MemoryEstimateError, available_memory, check_fits,
                                estimate_transfer_memory, scaled_size)

from conftest import DATA

GATYS = [*nh.GATYS_CONTENT_LAYERS, *nh.GATYS_STYLE_LAYERS]
MIB = 2**20


def test_estimate_grows_about_quadratically_with_the_side():
    for precision in ("fp32", "bf16"):
        for optimizer in ("lbfgs", "adam"):
            small = estimate_transfer_memory(1536, 2048, GATYS, precision=precision, optimizer=optimizer)
            large = estimate_transfer_memory(3072, 4096, GATYS, precision=precision, optimizer=optimizer)
            assert 3.0 < large / small < 4.5, (precision, optimizer)


def test_deeper_layers_cost_more():
    shallow = estimate_transfer_memory(768, 1024, ["relu1_1", "relu2_1"])
    middle = estimate_transfer_memory(768, 1024, ["relu1_1", "relu3_1"])
    deep = estimate_transfer_memory(768, 1024, ["relu1_1", "relu5_1"])
    assert shallow < middle < deep


def test_bf16_costs_less_and_lbfgs_history_is_counted():
    fp32 = estimate_transfer_memory(768, 1024, GATYS, precision="fp32")
    bf16 = estimate_transfer_memory(768, 1024, GATYS, precision="bf16")
    assert bf16 < fp32
    adam = estimate_transfer_memory(768, 1024, GATYS, optimizer="adam")
    image = 3 * 768 * 1024 * 4
    assert fp32 - adam >= 2 * LBFGS_HISTORY * image  # the steps and gradient changes L-BFGS keeps


def saved_for_backward(extractor: nh.VGG19Features, height: int, width: int) -> int:
    """Bytes of activations autograd really keeps for one pass with the Gatys losses' layers."""
    saved = {}

    def pack(t):
        if t.shape[0] == 1:  # activations; the weights (64, 3, 3, 3), ... are not image-sized
            saved[t.data_ptr()] = max(saved.get(t.data_ptr(), 0), t.numel() * t.element_size())
        return t

    image = torch.rand(1, 3, height, width, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        features = extractor.features(image, GATYS)
        [nh.gram_matrix(f) for f in features.values()]
    return sum(saved.values())


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_estimate_covers_what_autograd_keeps(precision):
    extractor = nh.get_extractor("original", "avg", "cpu", precision)
    real = saved_for_backward(extractor, 128, 128) - saved_for_backward(extractor, 64, 128)
    estimated = (estimate_transfer_memory(128, 128, GATYS, precision=precision, optimizer="adam")
                 - estimate_transfer_memory(64, 128, GATYS, precision=precision, optimizer="adam"))
    assert real < estimated < 3 * real


def test_a_large_style_image_is_counted():
    alone = estimate_transfer_memory(256, 256, GATYS)
    assert estimate_transfer_memory(256, 256, GATYS, style_size=(256, 256)) == alone
    assert estimate_transfer_memory(256, 256, GATYS, style_size=(4000, 4000)) > 2 * alone


@pytest.mark.parametrize("kwargs, match", [
    ({"height": 0}, "height must be a positive integer"),
    ({"width": 12.5}, "width must be a positive integer"),
    ({"layers": ["relu9_9"]}, "layers: unknown layer 'relu9_9'"),
    ({"layers": []}, "layers: give at least one layer"),
    ({"precision": "auto"}, "precision must be 'fp32' or 'bf16'"),
    ({"optimizer": "sgd"}, "optimizer must be one of"),
    ({"style_size": (0, 10)}, "style_size must be a positive integer"),
])
def test_bad_estimate_arguments_are_clear_errors(kwargs, match):
    args = {"height": 64, "width": 64, "layers": GATYS, **kwargs}
    with pytest.raises(ValueError, match=match):
        estimate_transfer_memory(args.pop("height"), args.pop("width"), args.pop("layers"), **args)


def test_available_memory():
    free = available_memory(torch.device("cpu"))
    if os.path.exists("/proc/meminfo"):
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        assert total / 1024 < free <= total  # bytes, not kB
    assert available_memory(torch.device("meta")) is None


def test_check_fits_refuses_with_one_line_and_a_size_that_fits():
    budget = 20 * 2**30
    with pytest.raises(MemoryEstimateError) as info:
        check_fits(6000, 9000, GATYS, device="cpu", precision="fp32", available=budget)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert len(message.splitlines()) == 1
    assert message.startswith("content: a 9000x6000 transfer needs about ")
    assert "20.0 GiB is free" in message and "tiled_style_transfer" in message
    side = int(re.search(r"a long side of (\d+) px or less", message).group(1))
    assert side % SIDE_STEP == 0 and 0 < side < 9000
    check_fits(*scaled_size(6000, 9000, side), GATYS, device="cpu", precision="fp32", available=budget)
    with pytest.raises(MemoryEstimateError):
        check_fits(*scaled_size(6000, 9000, side + SIDE_STEP), GATYS, device="cpu", precision="fp32",
                   available=budget)


def test_check_fits_passes_when_it_fits_or_when_free_memory_is_unknown(monkeypatch):
    need = estimate_transfer_memory(512, 512, GATYS, precision="fp32")
    check_fits(512, 512, GATYS, device="cpu", precision="fp32", available=need)
    with pytest.raises(MemoryEstimateError):
        check_fits(512, 512, GATYS, device="cpu", precision="fp32", available=need - 1)
    monkeypatch.setattr(memory, "available_memory", lambda device: None)
    check_fits(60000, 60000, GATYS, device="cpu", precision="fp32")


def test_check_fits_says_so_when_no_size_fits():
    with pytest.raises(MemoryEstimateError, match=r"not even a 16 px long side fits; free some memory"):
        check_fits(64, 64, GATYS, device="cpu", precision="fp32", available=50 * MIB)


def test_style_transfer_refuses_before_loading_the_model(monkeypatch, content64, style64):
    monkeypatch.setattr(memory, "available_memory", lambda device: 50 * MIB)

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the memory check")

    monkeypatch.setattr(gatys_setup, "get_extractor", no_model)
    calls = []
    w, h = content64.shape[-1], content64.shape[-2]
    with pytest.raises(MemoryEstimateError, match=rf"^content: a {w}x{h} transfer needs about .* but 50 MiB is free"):
        nh.style_transfer(content64, style64, device="cpu", progress=False,
                          callback=lambda *a: calls.append(a), callback_every=1)
    assert calls == []


def test_cli_turns_the_refusal_into_exit_2_with_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(memory, "available_memory", lambda device: 50 * MIB)
    out = tmp_path / "o.png"
    code = cli.main([str(DATA / "content" / "chelsea.jpg"), str(DATA / "style" / "the_scream.jpg"),
                     "-o", str(out), "--size", "64", "--device", "cpu", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("nst-transfer: error: content: a 64x") and "is free" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
