"""Decaying schedules, ScheduledBlur, blur_gradient and BlurredPixels."""
import math

import pytest
import torch

from nst_helpers.optimization.loop import optimize
from nst_helpers.canvas.parameterizations import PixelImage
from nst_helpers.canvas.schedules import MIN_SIGMA, BlurredPixels, ScheduledBlur, blur_gradient, decaying
from nst_helpers.canvas.transforms import gaussian_blur


def noise(seed=0, size=32):
    return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed))


def high_frequency_energy(image: torch.Tensor) -> float:
    """Mean squared difference between neighbouring pixels: large for noise, small when blurred."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return (dx.pow(2).mean() + dy.pow(2).mean()).item()


@pytest.mark.parametrize("kind, middle", [("exponential", math.sqrt(8.0 * 0.5)), ("linear", (8.0 + 0.5) / 2)])
def test_decaying_endpoints_middle_and_after(kind, middle):
    schedule = decaying(8.0, 0.5, steps=11, kind=kind)
    assert schedule(0) == 8.0 and schedule(10) == 0.5
    assert schedule(5) == pytest.approx(middle)
    assert schedule(11) == schedule(1000) == 0.5


@pytest.mark.parametrize("kind", ["exponential", "linear"])
def test_decaying_is_monotonic(kind):
    values = [decaying(4.0, 0.1, steps=50, kind=kind)(k) for k in range(60)]
    assert all(a > b for a, b in zip(values[:49], values[1:50]))
    assert all(v == 0.1 for v in values[49:])


def test_exponential_keeps_the_same_ratio_and_linear_may_reach_zero():
    schedule = decaying(1.0, 0.01, steps=5)
    ratios = [schedule(k + 1) / schedule(k) for k in range(4)]
    assert ratios == pytest.approx([ratios[0]] * 4)
    assert decaying(2.0, 0.0, steps=3, kind="linear")(2) == 0.0
    assert decaying(2.0, 1.0, steps=1)(0) == 1.0  # a one-step schedule is already at its end


@pytest.mark.parametrize("args, kwargs, match", [
    ((-1.0, 0.5, 10), {}, "start must be a finite number >= 0"),
    ((1.0, -0.5, 10), {}, "end must be a finite number >= 0"),
    ((1.0, 0.5, 0), {}, "steps must be a positive integer"),
    ((1.0, 0.5, 2.5), {}, "steps must be a positive integer"),
    ((1.0, 0.5, 10), {"kind": "cosine"}, "kind must be one of"),
    ((1.0, 0.0, 10), {}, "end must be > 0 for kind='exponential'"),
    ((0.0, 1.0, 10), {}, "start must be > 0 for kind='exponential'"),
])
def test_decaying_bad_arguments_are_one_line_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match) as error:
        decaying(*args, **kwargs)
    assert "\n" not in str(error.value)


def test_scheduled_blur_blurs_less_as_steps_go():
    image = noise()
    blur = ScheduledBlur(decaying(2.0, 0.2, steps=5))
    energies = [high_frequency_energy(blur(image)) for _ in range(5)]
    assert all(a < b for a, b in zip(energies, energies[1:]))
    assert blur.step == 5
    assert torch.equal(blur(image), image)  # sigma 0.2 <= MIN_SIGMA: the image itself
    blur.reset()
    assert blur.step == 0
    assert torch.equal(blur(image), gaussian_blur(2.0)(image))


def test_scheduled_blur_is_differentiable():
    image = noise().requires_grad_(True)
    ScheduledBlur(lambda step: 1.5)(image).mul(noise(seed=1)).sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_blur_gradient_smooths_the_gradient_until_removed():
    pixels = noise().requires_grad_(True)
    weights = noise(seed=1)  # d(sum(pixels * weights)) / d pixels = weights: pure noise
    steps_seen = []

    def schedule(step):
        steps_seen.append(step)
        return 1.5

    handle = blur_gradient(pixels, schedule)
    for _ in range(3):
        pixels.grad = None
        (pixels * weights).sum().backward()
    assert steps_seen == [0, 1, 2]
    assert torch.allclose(pixels.grad, gaussian_blur(1.5)(weights))
    assert high_frequency_energy(pixels.grad) < 0.2 * high_frequency_energy(weights)
    handle.remove()
    pixels.grad = None
    (pixels * weights).sum().backward()
    assert torch.equal(pixels.grad, weights)


def test_blur_gradient_follows_the_schedule():
    pixels = noise().requires_grad_(True)
    weights = noise(seed=1)
    blur_gradient(pixels, decaying(2.0, MIN_SIGMA, steps=4))
    energies = []
    for _ in range(4):
        pixels.grad = None
        (pixels * weights).sum().backward()
        energies.append(high_frequency_energy(pixels.grad))
    assert all(a < b for a, b in zip(energies, energies[1:]))
    assert energies[-1] == pytest.approx(high_frequency_energy(weights))


def test_blur_gradient_works_inside_optimize():
    """Fitting noise through blurred gradients gives a smoother image than plain fitting."""
    target = noise(seed=2)

    def fit(blur: bool) -> torch.Tensor:
        param = PixelImage(torch.full_like(target, 0.5))
        if blur:
            blur_gradient(param.pixels, lambda step: 2.0)
        return optimize(lambda image: {"mse": torch.mean((image - target) ** 2)}, param, steps=10,
                        optimizer="adam", lr=0.05, progress=False).image

    assert high_frequency_energy(fit(blur=True)) < 0.3 * high_frequency_energy(fit(blur=False))


def test_blurred_pixels_blur_themselves_on_each_project_call():
    start = noise()
    steps_seen = []

    def schedule(step):
        steps_seen.append(step)
        return [1.5, MIN_SIGMA][step]

    param = BlurredPixels(start, schedule)
    assert torch.equal(param(), start) and param.step == 0  # the start is not blurred
    param.project_()
    assert torch.allclose(param(), gaussian_blur(1.5)(start))
    assert high_frequency_energy(param()) < 0.2 * high_frequency_energy(start)
    blurred = param().detach().clone()
    param.project_()  # sigma MIN_SIGMA: left alone
    assert torch.equal(param(), blurred)
    assert steps_seen == [0, 1] and param.step == 2
    assert torch.equal(start, noise())  # init is copied, never changed
    with torch.no_grad():
        param.pixels.add_(2.0)
    param.step = 1
    param.project_()  # still clamped
    assert param().max() == 1.0


def test_blurred_pixels_are_blurred_after_every_step_of_optimize():
    """Fitting noise with the pixels blurred after each step leaves a smoother image; the schedule
    is asked once per step."""
    target = noise(seed=2)
    steps_seen = []

    def schedule(step):
        steps_seen.append(step)
        return 2.0

    def fit(param) -> torch.Tensor:
        return optimize(lambda image: {"mse": torch.mean((image - target) ** 2)}, param, steps=10,
                        optimizer="adam", lr=0.05, progress=False, keep="last").image

    plain = fit(PixelImage(torch.full_like(target, 0.5)))
    blurred = fit(BlurredPixels(torch.full_like(target, 0.5), schedule))
    assert steps_seen == list(range(10))
    assert high_frequency_energy(blurred) < 0.3 * high_frequency_energy(plain)


@pytest.mark.parametrize("call, match", [
    (lambda: BlurredPixels(noise(), 2.0), "schedule must be a function"),
    (lambda: BlurredPixels(torch.zeros(3, 8, 8), lambda step: 1.0), r"init: expected shape \(1, 3, H, W\)"),
    (lambda: blur_gradient(noise(), lambda step: 1.0), "tensor must be a tensor with requires_grad=True"),
    (lambda: blur_gradient(torch.zeros(3, 8, 8, requires_grad=True), lambda step: 1.0),
     r"tensor must be an image \(N, C, H, W\)"),
    (lambda: blur_gradient(noise().requires_grad_(True), 2.0), "schedule must be a function"),
    (lambda: ScheduledBlur(2.0), "schedule must be a function"),
    (lambda: decaying(1.0, 0.5, 10)(-1), "step must be >= 0"),
])
def test_bad_arguments_are_one_line_errors(call, match):
    with pytest.raises(ValueError, match=match) as error:
        call()
    assert "\n" not in str(error.value)
