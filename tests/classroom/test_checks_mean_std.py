"""Notebook 09's mean/std style loss check: right answers pass, each planted mistake gets its own message."""
import pytest
import torch
import torch.nn.functional as F

from nst_helpers.classroom.checks.mean_std import check_mean_std_loss


def stats(x, dims=(2, 3), unbiased=False, eps=1e-5, spread="std"):
    var, mean = torch.var_mean(x, dim=dims, keepdim=True, unbiased=unbiased)
    return mean, (var + eps).sqrt() if spread == "std" else var


def loss_with(dims=(2, 3), unbiased=False, eps=1e-5, spread="std", terms="both", weighted=True, layers="all",
              reduction="mean", average=False):
    """AdaIN's style loss with one piece swapped out, as a student might write it."""
    def mean_std_loss(features, style_features, weights):
        total = 0
        chosen = list(weights) if layers == "all" else list(weights)[-1:]
        for layer in chosen:
            (fm, fs), (sm, ss) = (stats(x[layer], dims, unbiased, eps, spread) for x in (features, style_features))
            term = {"both": F.mse_loss(fm, sm, reduction=reduction) + F.mse_loss(fs, ss, reduction=reduction),
                    "mean": F.mse_loss(fm, sm), "std": F.mse_loss(fs, ss)}[terms]
            total = total + (weights[layer] if weighted else 1.0) * term
        return total / len(weights) if average else total
    return mean_std_loss


def passes(fn, capsys):
    check_mean_std_loss(fn)
    out = capsys.readouterr().out
    assert out.startswith("✓ mean_std_loss:") and out.count("\n") == 1


def fails(fn, match):
    with pytest.raises(AssertionError, match=match) as info:
        check_mean_std_loss(fn)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("fn", [loss_with(), loss_with(eps=0.0), loss_with(eps=1e-8)], ids=["eps", "no-eps", "tiny-eps"])
def test_right_answers_pass(fn, capsys):
    passes(fn, capsys)


def test_the_notebook_style_solution_with_std_passes(capsys):
    def mean_std_loss(features, style_features, weights):
        return sum(w * (F.mse_loss(features[k].mean((2, 3)), style_features[k].mean((2, 3)))
                        + F.mse_loss(features[k].std((2, 3), correction=0), style_features[k].std((2, 3), correction=0)))
                   for k, w in weights.items())
    passes(mean_std_loss, capsys)


@pytest.mark.parametrize("fn, match", [
    (loss_with(spread="var"), "compared the variances, not the standard deviations"),
    (loss_with(unbiased=True), "sample std .* unbiased=False"),
    (loss_with(terms="mean"), "only compared the means"),
    (loss_with(terms="std"), "only compared the standard deviations"),
    (loss_with(weighted=False), "ignored the weights"),
    (loss_with(average=True), "divided by the number of layers"),
    (loss_with(layers="last"), "only layer 'relu3_1' counts"),
    (loss_with(reduction="sum"), "summed the squared differences over the channels"),
    (loss_with(dims=(1, 2, 3)), "over channels and positions"),
    (loss_with(dims=(0, 2, 3)), "over the whole batch"),
], ids=["variance", "unbiased", "means-only", "stds-only", "unweighted", "averaged", "last-layer", "summed",
        "over-channels", "over-batch"])
def test_each_planted_mistake_is_named(fn, match):
    fails(fn, match)


def test_iterating_over_the_features_hits_the_content_layer_and_gets_a_hint():
    def over_features(features, style_features, weights):
        return sum(loss_with()({k: features[k]}, {k: style_features[k]}, {k: 1.0}) for k in features)
    fails(over_features, "raised KeyError.*loop over the layers of weights")


@pytest.mark.filterwarnings("ignore:Using a target size")
def test_comparing_raw_features_gets_a_hint_about_sizes():
    def raw(features, style_features, weights):
        return sum(w * F.mse_loss(features[k], style_features[k]) for k, w in weights.items())
    fails(raw, "raised RuntimeError.*compare statistics, not features")


def test_a_detached_result_and_a_blank_are_named():
    fails(lambda f, s, w: loss_with()({k: v.detach() for k, v in f.items()}, s, w), "no grad_fn")
    def blank(features, style_features, weights):
        raise NotImplementedError
    fails(blank, "not implemented yet")


def test_the_planted_mistakes_give_values_apart_from_each_other_and_from_the_answer():
    from nst_helpers.classroom.checks import mean_std
    from nst_helpers.classroom.checks.base import close
    from nst_helpers.methods.adain import mean_std_loss
    features, style = mean_std._inputs()
    expected = mean_std_loss({k: v.detach() for k, v in features.items()}, style, mean_std.WEIGHTS)
    values = [expected] + [value for value, _ in mean_std._mistakes(features, style)]
    assert not [(i, j) for i in range(len(values)) for j in range(i) if close(values[i], values[j], rtol=3e-3)]
