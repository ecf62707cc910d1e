"""Notebook 03's normalized content loss and reconstruction loop checks: right answers pass, each
planted mistake gets its own message."""
import matplotlib
import pytest
import torch
import torch.nn.functional as F

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from loop_answers import fit  # noqa: E402

from nst_helpers.classroom.checks.reconstruction import (  # noqa: E402
    check_normalized_content_loss, check_reconstruction_loop)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def fails(check, fn, match):
    with pytest.raises(AssertionError, match=match) as info:
        check(fn)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- the loss

def loss_with(scale=lambda f, t: t.pow(2).mean(), combine=lambda terms: sum(terms) / len(terms)):
    def normalized_content_loss(features, targets):
        return combine([F.mse_loss(features[k], t) / scale(features[k], t) for k, t in targets.items()])
    return normalized_content_loss


@pytest.mark.parametrize("fn", [loss_with(), loss_with(scale=lambda f, t: (t ** 2).mean().detach()),
                                lambda f, t: torch.stack([((f[k] - v) ** 2).mean() / (v * v).mean()
                                                          for k, v in t.items()]).mean()],
                         ids=["mean", "detached-scale", "stack"])
def test_right_losses_pass(fn, capsys):
    check_normalized_content_loss(fn)
    out = capsys.readouterr().out
    assert out.startswith("✓ ") and out.count("\n") == 1


@pytest.mark.parametrize("fn, match", [
    (loss_with(scale=lambda f, t: 1.0), "^normalized_content_loss: not normalized: divide each layer's"),
    (loss_with(scale=lambda f, t: 1.0, combine=sum), "not normalized, and the layers summed"),
    (loss_with(scale=lambda f, t: f.pow(2).mean()), "normalized by the current features instead of the target"),
    (loss_with(scale=lambda f, t: t.pow(2).sum()), "sum of squares"),
    (loss_with(scale=lambda f, t: t.pow(2).mean().sqrt()), "root mean square"),
    (loss_with(scale=lambda f, t: t.abs().mean()), "mean absolute value"),
    (loss_with(scale=lambda f, t: t.var()), "variance"),
    (loss_with(combine=sum), "summed the layers' terms: average them"),
    (loss_with(combine=lambda terms: terms[-1]), "only layer 'relu4_2' counts"),
    (lambda f, t: sum(F.mse_loss(f[k], v) for k, v in t.items()) / sum(v.pow(2).mean() for v in t.values()),
     "normalized the total, not each layer"),
    (lambda f, t: loss_with()(f, t).sqrt(), "took a square root"),
    (lambda f, t: loss_with()({k: v.detach() for k, v in f.items()}, t), "no grad_fn"),
], ids=["plain", "plain-summed", "by-features", "sum-of-squares", "rms", "mean-abs", "variance", "summed",
        "last-layer", "total", "sqrt", "detached"])
def test_each_planted_loss_mistake_is_named(fn, match):
    fails(check_normalized_content_loss, fn, match)


def test_looping_over_the_features_gets_a_hint():
    fails(check_normalized_content_loss, lambda f, t: sum(F.mse_loss(f[k], t[k]) / t[k].pow(2).mean() for k in f),
          "raised KeyError.*loop over the layers of targets")


# ---------------------------------------------------------------- the loop

def loop_with(optimizer="adam", lr=0.05, clamp=True, targets="photo", order="features-first", copy=True):
    def reconstruct(extractor, photo, start, layers, steps, content_loss):
        with torch.no_grad():
            fixed = extractor.features(photo, layers)

        def loss_of(image):
            features = extractor.features(image, layers)
            goal = fixed if targets == "photo" else extractor.features(image, layers)
            return content_loss(features, goal) if order == "features-first" else content_loss(goal, features)
        return fit(start, steps, loss_of, optimizer, lr, clamp, copy)
    return reconstruct


@pytest.mark.parametrize("fn", [loop_with(), loop_with(optimizer="lbfgs"), loop_with(lr=0.02)],
                         ids=["adam", "lbfgs", "adam-0.02"])
def test_right_loops_pass(fn, capsys):
    check_reconstruction_loop(fn)
    out = capsys.readouterr().out
    assert out.startswith("✓ reconstruct: the loss fell") and out.count("\n") == 1


@pytest.mark.parametrize("fn, match", [
    (loop_with(targets="image"), "the targets require grad"),
    (loop_with(order="targets-first"), r"passed \(targets, features\)"),
    (loop_with(clamp=False), "outside \\[0, 1\\]: clamp"),
    (loop_with(lr=1e-4), "the loss went from .* not below 0.5 times"),
    (loop_with(copy=False), "changed `start` in place"),
    (lambda e, photo, start, layers, steps, loss: photo.clone(), "returned the photo itself"),
    (lambda e, photo, start, layers, steps, loss: start.clone(), "returned the start unchanged"),
    (lambda e, photo, start, layers, steps, loss: start[..., :10, :], r"returned shape \(1, 3, 10, 24\)"),
], ids=["targets-from-image", "swapped", "unclamped", "tiny-lr", "in-place", "photo", "start", "shape"])
def test_each_planted_loop_mistake_is_named(fn, match):
    fails(check_reconstruction_loop, fn, match)


def test_a_loop_that_never_calls_the_loss_or_too_rarely_is_named():
    def never(extractor, photo, start, layers, steps, content_loss):
        return (start * 0.5 + 0.25).clamp(0, 1)
    fails(check_reconstruction_loop, never, "never called content_loss")

    def once(extractor, photo, start, layers, steps, content_loss):
        with torch.no_grad():
            targets = extractor.features(photo, layers)
        image = start.clone().requires_grad_()
        content_loss(extractor.features(image, layers), targets).backward()
        return (image - 0.01 * image.grad.sign()).clamp(0, 1).detach()
    fails(check_reconstruction_loop, once, "called content_loss 1 times for steps=30")


def test_wrong_arguments_to_the_loss_are_named():
    def raw_targets(extractor, photo, start, layers, steps, content_loss):
        image = start.clone().requires_grad_()
        content_loss(extractor.features(image, layers), photo)
        return image
    fails(check_reconstruction_loop, raw_targets, "second argument \\(targets\\) is a Tensor, expected a dict")


def test_show_draws_a_figure():
    check_reconstruction_loop(loop_with(), show=True)
    assert plt.get_fignums()


def test_the_planted_mistakes_give_values_apart_from_each_other_and_from_the_answer():
    from nst_helpers.classroom.checks import reconstruction
    from nst_helpers.classroom.checks.base import close
    features, targets = reconstruction._inputs()
    expected = reconstruction._normalized({k: v.detach() for k, v in features.items()}, targets)
    values = [expected] + [value for value, _ in reconstruction._mistakes(features, targets)]
    assert not [(i, j) for i in range(len(values)) for j in range(i) if close(values[i], values[j], rtol=3e-3)]
