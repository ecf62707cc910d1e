import pytest
import torch

import nst_helpers as nh
from nst_helpers.recipes.multiscale import multiscale_transfer

FP32 = dict(settings=nh.TransferSettings(device="cpu", precision="fp32"), progress=False)


def test_each_size_starts_from_the_last_result(content64, style64, monkeypatch):
    import nst_helpers.recipes.multiscale as ms

    seen = []
    real = ms.transfer_with

    def spy(settings, content, style, **kwargs):
        seen.append((tuple(content.shape[-2:]), settings.init))
        return real(settings, content, style, **kwargs)

    monkeypatch.setattr(ms, "transfer_with", spy)
    result = multiscale_transfer(content64, style64, sizes=(32, 64), steps=(6, 4), **FP32)
    assert [shape for shape, _ in seen] == [(24, 32), (48, 64)]
    assert seen[0][1] == "content", "the first size uses the caller's init"
    assert isinstance(seen[1][1], torch.Tensor) and seen[1][1].shape == (1, 3, 48, 64)
    assert result.image.shape == content64.shape
    assert result.steps == 10 and len(result.history["style"]) == 10


def test_coarse_start_beats_a_cold_start_at_equal_final_steps(content64, style64):
    """Same final-size budget (5 steps); the only change is the coarse stage before it."""
    cold = nh.style_transfer(content64, style64, steps=5, init="noise", device="cpu", precision="fp32", progress=False)
    warm = multiscale_transfer(content64, style64, sizes=(32, 64), steps=(30, 5), progress=False,
                               settings=nh.TransferSettings(init="noise", device="cpu", precision="fp32"))
    assert warm.history["total"][-1] < 0.5 * cold.history["total"][-1]


@pytest.mark.parametrize("kwargs, match", [({"sizes": (64, 32)}, "increasing"), ({"sizes": ()}, "increasing"),
                                           ({"sizes": (8, 64)}, ">= 16"), ({"steps": (1, 2, 3)}, "3 counts")])
def test_bad_arguments(content64, style64, kwargs, match):
    with pytest.raises(ValueError, match=match):
        multiscale_transfer(content64, style64, **{"sizes": (32, 64), **kwargs}, **FP32)
