import math

import pytest
import torch

import nst_helpers as nh


def quadratic_to(target):
    """An objective whose minimum is `target`: lets the loop be tested without VGG."""
    return lambda image: {"mse": ((image - target) ** 2).sum()}


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_loop_reaches_target_and_records_history(optimizer):
    target = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    start = torch.full_like(target, 0.5)
    lr = 0.05 if optimizer == "adam" else None
    result = nh.optimize(quadratic_to(target), start, steps=60, optimizer=optimizer, lr=lr, progress=False)
    assert result.steps == 60
    assert set(result.history) == {"total", "mse"} and len(result.history["total"]) == 60
    assert result.history["total"][-1] < result.history["total"][0] / 100
    assert torch.allclose(result.image, target, atol=0.02)
    assert torch.equal(start, torch.full_like(target, 0.5)), "the init must not be modified"


def test_pixels_stay_in_unit_range():
    target = torch.full((1, 3, 4, 4), 3.0)  # unreachable: the best image is all ones
    result = nh.optimize(quadratic_to(target), torch.rand(1, 3, 4, 4), steps=10, progress=False)
    assert result.image.max() <= 1.0 and result.image.min() >= 0.0
    assert torch.allclose(result.image, torch.ones(1, 3, 4, 4))


def test_nan_is_recovered_from_best_iterate():
    target = torch.rand(1, 3, 8, 8)
    calls = {"n": 0}

    def objective(image):
        calls["n"] += 1
        loss = ((image - target) ** 2).sum()
        if calls["n"] == 6:  # inject a NaN on the sixth evaluation
            loss = loss * float("nan")
        return {"mse": loss}

    with pytest.warns(RuntimeWarning, match="loss became nan; went back to the best image"):
        result = nh.optimize(objective, torch.zeros(1, 3, 8, 8), steps=30, progress=False)
    assert result.recoveries == 1
    assert result.steps == 30
    assert all(math.isfinite(v) for v in result.history["total"])
    assert torch.isfinite(result.image).all()
    assert torch.allclose(result.image, target, atol=0.02)


def test_gives_up_after_repeated_nans_and_returns_finite_image():
    start = torch.rand(1, 3, 8, 8)

    def objective(image):
        return {"bad": image.sum() * float("nan")}

    with pytest.warns(RuntimeWarning, match="stopping with the best image"):
        result = nh.optimize(objective, start, steps=10, progress=False, max_recoveries=2)
    assert result.recoveries == 3 and result.steps == 0
    assert torch.equal(result.image, start)


def test_keyboard_interrupt_returns_best_image():
    target = torch.rand(1, 3, 8, 8)
    calls = {"n": 0}

    def objective(image):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return {"mse": ((image - target) ** 2).sum()}

    with pytest.warns(RuntimeWarning, match="interrupted at step 7"):
        result = nh.optimize(objective, torch.zeros(1, 3, 8, 8), steps=100, progress=False)
    assert result.interrupted and result.steps == 7
    assert len(result.history["total"]) == 7
    best = min(result.history["total"])
    assert ((result.image - target) ** 2).sum().item() <= best + 1e-4


def test_callback_runs_every_k_steps_and_can_stop():
    seen = []

    def callback(step, image, losses):
        seen.append(step)
        assert image.shape == (1, 3, 4, 4) and "total" in losses
        if step == 6:
            raise nh.StopOptimization

    result = nh.optimize(quadratic_to(torch.rand(1, 3, 4, 4)), torch.zeros(1, 3, 4, 4), steps=50,
                         callback=callback, callback_every=3, progress=False)
    assert seen == [3, 6]
    assert result.interrupted and result.steps == 6


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": 0}, "steps must be a positive integer"),
    ({"steps": -3}, "steps must be a positive integer"),
    ({"steps": 5, "optimizer": "sgd"}, "optimizer must be one of"),
    ({"steps": 5, "lr": float("nan")}, "lr must be a positive number"),
    ({"steps": 5, "first_step": 0}, "first_step must be a positive number or None"),
    ({"steps": 5, "first_step": "big"}, "first_step must be a positive number or None"),
])
def test_bad_arguments_fail_before_work(kwargs, match):
    def objective(image):
        raise AssertionError("must not be called")

    with pytest.raises(ValueError, match=match):
        nh.optimize(objective, torch.zeros(1, 3, 4, 4), progress=False, **kwargs)


def test_first_lbfgs_step_moves_no_pixel_more_than_the_set_size():
    from nst_helpers.optimization.loop import LBFGS_FIRST_STEP
    target = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    start = torch.full_like(target, 0.5)
    # the result is the best *evaluated* image: after two steps that is the one the first step reached
    result = nh.optimize(lambda x: {"mse": 1e6 * ((x - target) ** 2).sum()}, start, steps=2, progress=False)
    assert result.history["total"][1] < result.history["total"][0]
    moved = (result.image - start).abs().max().item()
    assert LBFGS_FIRST_STEP * 0.99 <= moved <= LBFGS_FIRST_STEP * 1.01


@pytest.mark.parametrize("first_step", [0.01, 0.2])
def test_first_step_size_is_a_setting_and_none_is_torchs_own(first_step):
    target = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    start = torch.full_like(target, 0.5)
    objective = lambda x: {"mse": 1e6 * ((x - target) ** 2).sum()}  # noqa: E731
    sized = nh.optimize(objective, start, steps=2, first_step=first_step, progress=False)
    assert first_step * 0.99 <= (sized.image - start).abs().max().item() <= first_step * 1.01
    # torch's first step is lr * g / |g|_1: a tiny move for a gradient spread over many pixels
    torchs = nh.optimize(objective, start, steps=1, first_step=None, progress=False, keep="last")
    gradient = 2e6 * (start - target)
    expected = (gradient.abs() / gradient.abs().sum()).max().item()
    assert (torchs.image - start).abs().max().item() == pytest.approx(expected, rel=1e-3)


def test_clamp_can_be_switched_off_and_the_result_is_still_in_range():
    target = torch.full((1, 3, 4, 4), 3.0)
    seen = []
    free = nh.optimize(quadratic_to(target), torch.full((1, 3, 4, 4), 0.5), steps=10, clamp=False,
                       callback=lambda step, image, losses: seen.append(image.max().item()), callback_every=1,
                       progress=False)
    assert max(seen) > 1.5  # the pixels went past 1 on the way to 3
    assert free.image.max() <= 1.0


def test_a_step_that_blows_up_the_loss_is_undone_quietly():
    import warnings
    target = torch.rand(1, 3, 8, 8)
    calls = {"n": 0}

    def objective(image):
        calls["n"] += 1
        loss = ((image - target) ** 2).sum() + 1.0
        return {"mse": loss * (100.0 if calls["n"] == 5 else 1.0)}

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a routine recovery must not warn
        result = nh.optimize(objective, torch.zeros(1, 3, 8, 8), steps=20, progress=False)
    assert result.recoveries == 1 and "jumped to" in result.messages[0]
    assert max(result.history["total"]) <= result.history["total"][0]
    assert result.steps == 20


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_negative_losses_are_not_mistaken_for_divergence(optimizer):
    """Gradient ascent minimizes minus an activation: losses below zero that keep falling."""
    result = nh.optimize(lambda image: {"ascent": -image.sum()}, torch.full((1, 3, 4, 4), 0.5), steps=40,
                         optimizer=optimizer, lr=0.05 if optimizer == "adam" else None, progress=False)
    assert result.recoveries == 0 and not result.messages
    assert torch.allclose(result.image, torch.ones(1, 3, 4, 4))


def test_divergence_guard_can_be_switched_off():
    calls = {"n": 0}

    def noisy(image):  # an objective that jumps up on every third call, as random transforms do
        calls["n"] += 1
        return {"mse": ((image - 0.3) ** 2).sum() * (10.0 if calls["n"] % 3 == 0 else 1.0)}

    guarded = nh.optimize(noisy, torch.zeros(1, 3, 4, 4), steps=12, optimizer="adam", progress=False)
    calls["n"] = 0
    free = nh.optimize(noisy, torch.zeros(1, 3, 4, 4), steps=12, optimizer="adam", progress=False,
                       divergence_guard=False)
    assert guarded.recoveries > 0 and free.recoveries == 0


def test_a_learners_own_loss_function_runs_through_optimize(vgg, content64, style64):
    """No Objective needed: a plain function image -> {name: loss}, as a learner writes it."""
    with torch.no_grad():
        target = vgg.features(content64, ["relu2_1"])["relu2_1"]

    def my_loss(image):
        features = vgg.features(image, ["relu2_1"])["relu2_1"]
        return {"mine": ((features - target) ** 2).mean()}

    start = torch.rand(content64.shape, generator=torch.Generator().manual_seed(0))
    result = nh.optimize(my_loss, start, steps=10, progress=False)
    assert list(result.history) == ["total", "mine"]
    assert result.history["mine"][-1] < 0.5 * result.history["mine"][0]


def test_an_optimizer_factory_and_keep_last():
    target = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    made = []

    def sgd(params, lr):
        made.append(lr)
        return torch.optim.SGD(params, lr=lr)

    def loss(image):
        return {"mse": ((image - target) ** 2).sum()}

    result = nh.optimize(loss, torch.full_like(target, 0.5), steps=5, optimizer=sgd, lr=0.1, progress=False)
    assert made == [0.1] and result.history["mse"][-1] < result.history["mse"][0]
    with pytest.raises(ValueError, match="lr: give a learning rate when the optimizer is a factory"):
        nh.optimize(loss, target, steps=1, optimizer=sgd, progress=False)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        nh.optimize(loss, target, steps=1, optimizer="sgd", progress=False)

    calls = []

    def rising(image):  # pushes the pixels up while its value grows each call: the best is the start
        calls.append(1)
        return {"up": len(calls) - 1e-3 * image.sum()}

    for keep in ("best", "last"):
        calls.clear()
        seen = []
        start = torch.full_like(target, 0.5)
        result = nh.optimize(rising, start, steps=4, optimizer="adam", lr=0.05, keep=keep, progress=False,
                             divergence_guard=False, callback_every=1,
                             callback=lambda step, image, losses: seen.append(image.clone()))
        expected = start if keep == "best" else seen[-1]
        assert torch.equal(result.image, expected), keep
    with pytest.raises(ValueError, match="keep must be one of"):
        nh.optimize(loss, target, steps=1, keep="first", progress=False)
