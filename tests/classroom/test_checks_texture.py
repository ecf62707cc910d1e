"""Notebook 05's texture synthesis loop check: right loops pass, each planted mistake gets its own message."""
import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import nst_helpers as nh  # noqa: E402
from loop_answers import fit  # noqa: E402
from nst_helpers.classroom.checks.texture import check_texture_synthesis  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def loop_with(source="style", optimizer="adam", lr=0.05, clamp=True, detach=True, grams=True, size="start",
              weights=None):
    def synthesize(extractor, style, start, layer_weights, steps, style_loss):
        layers = list(layer_weights)
        image_of = {"style": style, "start": start}
        if detach:
            with torch.no_grad():
                targets = extractor.features(image_of[source], layers)
        else:
            targets = extractor.features(start.clone().requires_grad_(), layers)
        targets = {k: nh.gram_matrix(v) if grams else v for k, v in targets.items()}
        first = start if size == "start" else torch.rand_like(style)
        return fit(first, steps, lambda image: style_loss(extractor.features(image, layers), targets,
                                                          weights or layer_weights), optimizer, lr, clamp)
    return synthesize


@pytest.mark.parametrize("fn", [loop_with(), loop_with(optimizer="lbfgs"), loop_with(lr=0.01)],
                         ids=["adam", "lbfgs", "adam-0.01"])
def test_right_loops_pass_with_one_line(fn, capsys):
    check_texture_synthesis(fn)
    out = capsys.readouterr().out
    assert out.startswith("✓ synthesize: the style loss fell") and out.count("\n") == 1


@pytest.mark.parametrize("fn, match", [
    (loop_with(source="start"), "the targets are the start's Gram matrices, not the style's"),
    (loop_with(detach=False), "raised RuntimeError: Trying to backward .* compute them once, before the loop, under "
                              "torch.no_grad"),
    (loop_with(grams=False), r"target_grams\['relu1_1'\] has shape \(1, 6, 20, 28\), a Gram matrix is \(1, C, C\)"),
    (loop_with(weights={"relu1_1": 1.0}), "style_loss got the weights"),
    (loop_with(size="style"), r"returned the style's shape \(1, 3, 20, 28\)"),
    (loop_with(clamp=False), r"outside \[0, 1\]"),
    (loop_with(lr=1e-4), "not below 0.1 times its start"),
    (lambda extractor, style, start, weights, steps, style_loss: style, "returned the style itself"),
], ids=["start-grams", "attached-targets", "features-not-grams", "weights", "style-size", "unclamped", "tiny-lr",
        "style"])
def test_each_planted_mistake_is_named(fn, match):
    with pytest.raises(AssertionError, match=match) as info:
        check_texture_synthesis(fn)
    assert "\n" not in str(info.value)


def test_a_blank_says_not_implemented():
    def synthesize(extractor, style, start, weights, steps, style_loss):
        raise NotImplementedError
    with pytest.raises(AssertionError, match="synthesize: not implemented yet"):
        check_texture_synthesis(synthesize)


def test_show_draws_a_figure():
    check_texture_synthesis(loop_with(), show=True)
    assert plt.get_fignums()
