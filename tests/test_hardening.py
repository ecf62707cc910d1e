"""Numerical faults and interruptions end in a usable image, never a crash or a lost result."""
import math
import warnings

import pytest
import torch

import nst_helpers as nh


def test_adam_with_an_absurd_learning_rate_recovers(content64, style64):
    kwargs = dict(steps=40, optimizer="adam", progress=False, device="cpu", precision="fp32")
    sane = nh.style_transfer(content64, style64, lr=0.02, **kwargs)
    absurd = nh.style_transfer(content64, style64, lr=1e6, **kwargs)
    assert absurd.recoveries > 0 and absurd.steps == 40, "recovered and carried on"
    assert absurd.best_loss < 1.5 * sane.best_loss, "ends about where a sane learning rate ends"
    assert torch.isfinite(absurd.image).all()


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_nan_injected_at_a_chosen_step_is_recovered(optimizer):
    target = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    calls = {"n": 0}

    def objective(image):
        calls["n"] += 1
        loss = ((image - target) ** 2).sum()
        return {"mse": loss * float("nan") if calls["n"] == 12 else loss}

    with pytest.warns(RuntimeWarning, match="became nan"):
        result = nh.optimize(objective, torch.zeros(1, 3, 8, 8), steps=60, optimizer=optimizer,
                             lr=0.05 if optimizer == "adam" else None, progress=False)
    assert result.recoveries == 1 and result.steps == 60
    assert all(math.isfinite(v) for v in result.history["total"])
    assert torch.isfinite(result.image).all()
    assert result.history["total"][-1] < result.history["total"][0] / 50


def test_result_never_contains_nan_even_if_every_step_fails():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = nh.optimize(lambda image: {"bad": image.sum() * float("inf")}, torch.rand(1, 3, 4, 4),
                             steps=5, progress=False)
    assert torch.isfinite(result.image).all() and result.steps == 0


def test_keyboard_interrupt_in_a_callback_returns_the_best_image(content64, style64):
    def interrupt(step, image, losses):
        if step == 6:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted at step 6"):
        result = nh.style_transfer(content64, style64, steps=50, callback=interrupt, callback_every=1,
                                   progress=False, device="cpu")
    assert result.interrupted and result.steps == 6
    assert result.best_loss == min(result.history["total"])
    assert torch.isfinite(result.image).all()


def test_out_of_memory_during_a_transfer_is_a_clear_error_and_leaves_things_usable(content64, style64,
                                                                                     monkeypatch):
    import nst_helpers.methods.setup as transfer
    from nst_helpers.optimization.memory import MemoryEstimateError

    real_optimize = transfer.optimize

    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(transfer, "optimize", out_of_memory)
    with pytest.raises(MemoryEstimateError, match=r"content: ran out of memory on cpu at 64x48 .* "
                                                  r"use a long side of \d+ px or less"):
        nh.style_transfer(content64, style64, steps=3, progress=False, device="cpu")
    monkeypatch.setattr(transfer, "optimize", real_optimize)
    assert nh.style_transfer(content64, style64, steps=2, progress=False, device="cpu").steps == 2


@pytest.mark.parametrize("kwargs, match", [({"optimizer": "sgd"}, "optimizer must be one of"),
                                           ({"loss_kind": "l3"}, "loss_kind must be one of")])
def test_bad_choices_fail_before_any_network_work(content64, style64, monkeypatch, kwargs, match):
    import nst_helpers.methods.setup as transfer

    def no_network(*args, **kwargs):
        raise AssertionError("the network was built before the arguments were checked")

    monkeypatch.setattr(transfer, "get_extractor", no_network)
    with pytest.raises(ValueError, match=match):
        nh.style_transfer(content64, style64, progress=False, device="cpu", **kwargs)
