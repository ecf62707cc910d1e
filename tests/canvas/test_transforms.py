"""Random, differentiable image changes: jitter, scale, blur, compose, rotate, augmentation, crop_border, zoom."""
import pytest
import torch

import nst_helpers as nh
from nst_helpers.canvas import transforms as T


def noise(height=32, width=32, seed=0):
    return torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(seed))


def blob(height, width, sigma):
    """A round Gaussian blob of standard deviation `sigma` pixels in the middle of the image."""
    y = torch.arange(height).float()[:, None] - (height - 1) / 2
    x = torch.arange(width).float()[None, :] - (width - 1) / 2
    return torch.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2)).expand(1, 3, height, width)


@pytest.mark.parametrize("height, width", [(32, 32), (31, 45), (48, 20)])
def test_augmentation_keeps_the_shape(height, width):
    augment = T.augmentation(seed=1)
    image = noise(height, width)
    for _ in range(8):  # enough calls to draw both scales
        assert augment(image).shape == image.shape


def test_augmentation_changes_the_image_and_passes_the_gradient_back():
    image = noise().requires_grad_(True)
    out = T.augmentation(seed=2)(image)
    assert not torch.allclose(out, image)
    (out * noise(seed=9)).sum().backward()
    assert image.grad is not None and torch.isfinite(image.grad).all()
    assert image.grad.abs().sum() > 0


def test_same_seed_same_sequence():
    image = noise()
    a, b, c = T.augmentation(seed=3), T.augmentation(seed=3), T.augmentation(seed=4)
    outs_a, outs_b, outs_c = ([f(image) for _ in range(5)] for f in (a, b, c))
    assert all(torch.equal(x, y) for x, y in zip(outs_a, outs_b))
    assert not all(torch.equal(x, y) for x, y in zip(outs_a, outs_c))


def test_rotate_by_180_flips_and_by_0_is_the_identity():
    image = noise(12, 20)
    assert torch.allclose(T.rotate(image, 180), image.flip(-2, -1), atol=1e-5)
    assert torch.equal(T.rotate(image, 0), image)


def test_rotate_turns_a_non_square_image_without_shearing_it():
    image = blob(32, 48, sigma=5)
    turned = T.rotate(image, 30)
    assert turned.shape == image.shape
    # a round blob looks the same after any rotation (away from the reflected corners);
    # rotating in affine_grid's -1..1 coordinates without the aspect correction is off by 0.15
    assert (T.crop_border(turned, 6) - T.crop_border(image, 6)).abs().max() < 0.03


def test_rotate_fills_corners_by_reflection_not_black():
    image = torch.full((1, 3, 16, 16), 0.7)
    assert torch.allclose(T.rotate(image, 45), image)


def test_random_rotate_draws_angles_in_range():
    ramp = torch.linspace(0, 1, 24).expand(1, 3, 24, 24)  # rotating it changes it more the larger the angle
    limit = (T.rotate(ramp, 10.0) - ramp).abs().mean()
    turn = T.random_rotate(10.0, torch.Generator().manual_seed(0))
    changes = [(turn(ramp) - ramp).abs().mean() for _ in range(20)]
    assert all(0 < change <= limit + 1e-6 for change in changes)
    assert max(changes) > 0.5 * limit  # not stuck at tiny angles


@pytest.mark.parametrize("px, size", [(0, (32, 20)), (3, (26, 14)), (9, (14, 2))])
def test_crop_border_sizes(px, size):
    image = noise(32, 20)
    cropped = T.crop_border(image, px)
    assert cropped.shape == (1, 3, *size)
    assert torch.equal(cropped, image[..., px:32 - px, px:20 - px])


@pytest.mark.parametrize("call, match", [
    (lambda: T.crop_border(noise(32, 20), -1), "px must be an integer >= 0"),
    (lambda: T.crop_border(noise(32, 20), 10), r"px must be less than half the image's smaller side \(20\)"),
    (lambda: T.crop_border(noise(32, 20), 2.0), "px must be an integer >= 0"),
    (lambda: T.random_rotate(-5.0), "max_degrees must be a number from 0 to 180"),
    (lambda: T.augmentation(jitter_px=-1), "max_shift must be >= 0"),
    (lambda: T.augmentation(scales=(0.0, 1.0)), "scales must be positive numbers"),
])
def test_bad_arguments_are_one_line_errors(call, match):
    with pytest.raises(ValueError, match=match) as error:
        call()
    assert "\n" not in str(error.value)


def test_jitter_is_a_bounded_seeded_roll():
    image = torch.rand(1, 3, 20, 20)
    out = T.jitter(3, torch.Generator().manual_seed(0))(image)
    rolls = [torch.roll(image, (dy, dx), (-2, -1)) for dy in range(-3, 4) for dx in range(-3, 4)]
    assert any(torch.equal(out, r) for r in rolls)
    again = T.jitter(3, torch.Generator().manual_seed(0))(image)
    assert torch.equal(out, again), "same seed, same shift"
    assert torch.equal(T.jitter(0)(image), image)


def test_random_scale_picks_from_the_given_scales():
    image = torch.rand(1, 3, 20, 20)
    sizes = {T.random_scale((0.5, 1.5), torch.Generator().manual_seed(s))(image).shape[-1] for s in range(20)}
    assert sizes == {10, 30}


def test_blur_smooths_and_passes_gradients():
    image = torch.rand(1, 3, 32, 32, requires_grad=True)
    blurred = T.gaussian_blur(1.0)(image)
    assert blurred.shape == image.shape
    assert nh.tv_loss(blurred) < nh.tv_loss(image) / 3
    blurred.sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert torch.equal(T.gaussian_blur(0)(image), image)


def test_a_blur_wider_than_the_image_still_blurs():
    image = torch.rand(1, 3, 8, 12)
    blurred = T.gaussian_blur(10.0)(image)  # 3 sigma = 30 px > the 8 px side
    assert blurred.shape == image.shape and blurred.std() < 0.5 * image.std()


def test_compose_applies_left_to_right():
    add_one, double = (lambda x: x + 1), (lambda x: x * 2)
    assert T.compose(add_one, double)(torch.zeros(1)).item() == 2


@pytest.mark.parametrize("make", [lambda: T.jitter(-1), lambda: T.random_scale([]),
                                  lambda: T.random_scale([0.0]), lambda: T.gaussian_blur(-1)])
def test_bad_transform_arguments(make):
    with pytest.raises(ValueError):
        make()


def ramps(height, width):
    """Channel 0 rises with x, channel 1 with y (pixel coordinates about the centre, / 100 + 0.5)."""
    y = (torch.arange(height).float()[:, None] - (height - 1) / 2).expand(height, width)
    x = (torch.arange(width).float()[None, :] - (width - 1) / 2).expand(height, width)
    return torch.stack([x, y, torch.zeros_like(x)])[None] / 100 + 0.5


@pytest.mark.parametrize("factor", [1.05, 1.5, 2.0, 0.8])
def test_zoom_scales_distances_from_the_centre_by_the_factor(factor):
    image = ramps(30, 50)  # not square: x and y must both scale by `factor`, about the centre
    zoomed = T.zoom(image, factor)
    expected = (image - 0.5) / factor + 0.5  # a pixel d from the centre shows what was d / factor from it
    # away from the edges (and the reflected border of a zoom out) the ramp comes back to within 0.05 px
    # (torch's bicubic kernel); sampling about a corner, or x and y alike on a non-square image, is 1 px off
    inside = T.crop_border(zoomed - expected, 8)
    assert zoomed.shape == image.shape
    assert inside.abs().max() < 1e-3


def test_zoom_by_1_is_the_identity_and_zooming_passes_the_gradient_back():
    image = noise(20, 28).requires_grad_(True)
    assert T.zoom(image, 1) is image
    zoomed = T.zoom(image, 1.1)
    assert zoomed.min() >= 0 and zoomed.max() <= 1
    (zoomed * noise(20, 28, seed=3)).sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


@pytest.mark.parametrize("factor", [0, -1.1, float("nan"), True, "2"])
def test_zoom_refuses_a_bad_factor(factor):
    with pytest.raises(ValueError, match="factor must be a finite number > 0") as error:
        T.zoom(noise(), factor)
    assert "\n" not in str(error.value)
