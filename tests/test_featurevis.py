import pytest
import torch

import nst_helpers as nh
from nst_helpers import transforms as T
from nst_helpers.featurevis import channel_objective, layer_objective, visualize


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


def test_channel_objective_is_minus_the_channel_mean():
    acts = torch.rand(1, 8, 4, 4)
    assert channel_objective("relu3_1", 5)({"relu3_1": acts}).item() == pytest.approx(-acts[0, 5].mean().item())
    assert layer_objective("relu3_1")({"relu3_1": acts}).item() == pytest.approx(-acts.pow(2).mean().item())
    with pytest.raises(ValueError, match="relu3_1 has channels 0..7"):
        channel_objective("relu3_1", 8)({"relu3_1": acts})
    with pytest.raises(ValueError, match="unknown layer"):
        channel_objective("relu9_1", 0)


def test_visualize_raises_the_channel_activation(vgg):
    result = visualize(vgg, channel_objective("relu2_1", 3), size=(48, 48), steps=25, progress=False)
    history = result.history["activation"]
    assert history[-1] < 3 * history[0] and history[-1] < 0  # minus the activation: more negative is better
    assert result.image.shape == (1, 3, 48, 48)


def test_transforms_damp_high_frequencies(vgg):
    """The claim of notebook 02: plain ascent makes pixel-level noise; jitter and blur don't."""
    objective = channel_objective("relu3_1", 10)
    plain = visualize(vgg, objective, size=(64, 64), steps=40, progress=False).image
    robust = visualize(vgg, objective, size=(64, 64), steps=40, progress=False,
                       transform=T.standard_transforms(0, blur_sigma=1.0)).image
    assert nh.tv_loss(robust) < 0.8 * nh.tv_loss(plain)
