import pytest
import torch

import nst_helpers as nh
from nst_helpers.canvas import transforms as T
from nst_helpers.methods.featurevis import channel_objective, layer_objective, visualize


def test_channel_objective_is_minus_the_channel_mean():
    acts, image = torch.rand(1, 8, 4, 4), torch.rand(1, 3, 16, 16)
    channel = channel_objective("relu3_1", 5)
    assert channel.layers == ["relu3_1"]
    assert channel({"relu3_1": acts}, image)["activation"].item() == pytest.approx(-acts[0, 5].mean().item())
    whole = layer_objective("relu3_1")({"relu3_1": acts}, image)["activation"]
    assert whole.item() == pytest.approx(-acts.pow(2).mean().item())
    with pytest.raises(ValueError, match="relu3_1 has channels 0..7"):
        channel_objective("relu3_1", 8)({"relu3_1": acts}, image)
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
