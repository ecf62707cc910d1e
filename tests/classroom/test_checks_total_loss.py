"""Notebook 06's check: the right total loss passes, each planted mistake gets its own explanation."""
import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import nst_helpers as nh  # noqa: E402
from nst_helpers.classroom.checks.total_loss import check_total_loss  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def gram(features, scale=1.0):
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w) * scale


def terms(features, content_targets, style_grams, image, *, reduce=torch.mean, gram_of=gram, average=(True, True)):
    content = sum(reduce((features[layer] - target) ** 2) for layer, target in content_targets.items())
    style = sum(reduce((gram_of(features[layer]) - target) ** 2) for layer, target in style_grams.items())
    if average[0]:
        content = content / len(content_targets)
    if average[1]:
        style = style / len(style_grams)
    return content, style, nh.tv_loss(image)


def total_loss(features, content_targets, style_grams, image, content_weight, style_weight, tv_weight):
    """The notebook's solution."""
    content = sum(((features[layer] - target) ** 2).mean() for layer, target in content_targets.items())
    style = sum(((nh.gram_matrix(features[layer]) - target) ** 2).mean() for layer, target in style_grams.items())
    return (content_weight * content / len(content_targets) + style_weight * style / len(style_grams)
            + tv_weight * nh.tv_loss(image))


def with_library_losses(features, content_targets, style_grams, image, content_weight, style_weight, tv_weight):
    """The same with nh.content_loss / nh.style_loss, whose default layer weights are equal and add up to 1."""
    return (content_weight * nh.content_loss(features, content_targets)
            + style_weight * nh.style_loss(features, style_grams) + tv_weight * nh.tv_loss(image))


def planted(combine, **options):
    def fn(features, content_targets, style_grams, image, a, b, g):
        return combine(*terms(features, content_targets, style_grams, image, **options), a, b, g)
    return fn


@pytest.mark.parametrize("fn", [total_loss, with_library_losses])
def test_right_answers_pass_with_one_line(fn, capsys):
    check_total_loss(fn)
    out = capsys.readouterr().out
    assert out.startswith("✓ ") and out.count("\n") == 1


def test_show_draws_one_figure(capsys):
    check_total_loss(total_loss, show=True)
    assert capsys.readouterr().out.startswith("✓")
    assert len(plt.get_fignums()) == 1


def test_blank_says_not_implemented(capsys):
    def blank(*args):
        raise NotImplementedError("exercise: fill in this function")
    with pytest.raises(AssertionError, match="not implemented yet"):
        check_total_loss(blank)
    assert capsys.readouterr().out == ""


def detached(*args):
    return total_loss(*args).detach()


def tv_on_detached_image(features, content_targets, style_grams, image, a, b, g):
    content, style, _ = terms(features, content_targets, style_grams, image)
    return a * content + b * style + g * nh.tv_loss(image.detach())


def loop_over_features(features, content_targets, style_grams, image, a, b, g):
    content = sum(((features[layer] - content_targets[layer]) ** 2).mean() for layer in features)
    return a * content


def gram_of_targets(features, content_targets, style_grams, image, a, b, g):
    return sum(((nh.gram_matrix(features[layer]) - nh.gram_matrix(target)) ** 2).mean()
               for layer, target in style_grams.items())


def features_vs_grams(features, content_targets, style_grams, image, a, b, g):
    return sum(((features[layer] - target) ** 2).mean() for layer, target in style_grams.items())


def wrong_content_target(features, content_targets, style_grams, image, a, b, g):
    content, style, tv = terms(features, content_targets, style_grams, image)
    return a * 0.9 * content + b * style + g * tv


def unnormalized(features):
    n, c, h, w = features.shape
    return gram(features, scale=c * h * w)


MISTAKES = [
    (planted(lambda c, s, t, a, b, g: b * c + a * s + g * t), "swapped the weights"),
    (planted(lambda c, s, t, a, b, g: a * c + b * s), "left out the total-variation term"),
    (planted(lambda c, s, t, a, b, g: a * c + b * s + t), "without its weight: multiply it by tv_weight"),
    (planted(lambda c, s, t, a, b, g: c + s + t), "left out the weights"),
    (planted(lambda c, s, t, a, b, g: a * c + b * s + g * t, average=(False, False)),
     "summed the layers' losses instead of averaging them"),
    (planted(lambda c, s, t, a, b, g: a * c + b * s + g * t, average=(False, True)),
     "summed the content layers' losses instead of averaging them"),
    (planted(lambda c, s, t, a, b, g: a * c + b * s + g * t, average=(True, False)),
     "summed the style layers' losses instead of averaging them"),
    (planted(lambda c, s, t, a, b, g: a * c + b * s + g * t, gram_of=unnormalized),
     r"Gram matrices of the image's features are not normalized: use nh.gram_matrix"),
    (planted(lambda c, s, t, a, b, g: a * c + b * s + g * t, gram_of=unnormalized, average=(True, False)),
     r"are not normalized: .*, and the style layers are summed"),
    (planted(lambda c, s, t, a, b, g: a * c + b * s + g * t, gram_of=lambda f: gram(f, scale=f.shape[1])),
     r"divided by h\*w only"),
    (planted(lambda c, s, t, a, b, g: a * c + b * s + g * t, reduce=torch.sum),
     "summed the squared differences of the features and of the Gram matrices"),
    (lambda f, ct, sg, i, a, b, g: a * terms(f, ct, sg, i, reduce=torch.sum)[0] + b * terms(f, ct, sg, i)[1]
     + g * nh.tv_loss(i), "summed the squared differences of the features: take their mean"),
    (detached, "cut off from its input"),
    (tv_on_detached_image, "no gradient flows back to the image"),
    (lambda *args: total_loss(*args).item(), "plain Python number"),
    (lambda *args: None, "returned None"),
    (loop_over_features, "loop over content_targets for the content term"),
    (gram_of_targets, "Gram matrices already"),
    (features_vs_grams, "the targets of the style term are Gram matrices already"),
    (wrong_content_target, r"with content_weight=1 and the other weights 0 it returned .*: the content term is"),
]


@pytest.mark.filterwarnings("ignore:Using a target size")
@pytest.mark.parametrize("fn, message", MISTAKES)
def test_each_mistake_gets_its_explanation(fn, message, capsys):
    with pytest.raises(AssertionError, match=message) as info:
        check_total_loss(fn)
    assert "\n" not in str(info.value), "one line"
    assert info.value.__context__ is None or info.value.__suppress_context__, "no chained traceback"
    assert capsys.readouterr().out == ""
