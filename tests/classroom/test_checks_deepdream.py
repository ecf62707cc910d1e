"""check_dream_step: right answers pass, each common mistake fails with its own one-line message."""
import matplotlib
import pytest
import torch

from nst_helpers.classroom.checks.deepdream import TinyExtractor, _check_input, check_dream_step
from nst_helpers.methods.deepdream import ascent_step

matplotlib.use("Agg")


def step_with(objective=lambda act: act.pow(2).mean(), sign=1.0, normalize=lambda g: g / g.abs().mean(),
              clamp=True, layer_override=None, use_step_size=True):
    """A dream step with one piece swapped out, as a student might write it."""
    def dream_step(image, extractor, layer, step_size):
        image = image.detach().requires_grad_(True)
        objective(extractor.features(image, [layer_override or layer])[layer_override or layer]).backward()
        new = image + sign * (step_size if use_step_size else 1.0) * normalize(image.grad)
        return (new.clamp(0, 1) if clamp else new).detach()
    return dream_step


def passes(fn):
    check_dream_step(fn)


def fails(fn, match):
    with pytest.raises(AssertionError, match=match) as info:
        check_dream_step(fn)
    assert "\n" not in str(info.value), "one line"


def test_reference_step_passes_and_prints_a_tick(capsys):
    passes(step_with())
    assert capsys.readouterr().out.startswith("✓ dream_step:")


@pytest.mark.parametrize("objective", [lambda a: a.pow(2).sum(), lambda a: a.norm(), lambda a: (a * a).mean()],
                         ids=["sum", "norm", "a*a"])
def test_objectives_with_the_same_normalized_gradient_pass(objective):
    passes(step_with(objective=objective))


def test_autograd_grad_version_that_keeps_the_graph_passes():
    def dream_step(image, extractor, layer, step_size):
        x = image.clone().requires_grad_()
        grad, = torch.autograd.grad(extractor.features(x, layer)[layer].pow(2).mean(), x)
        return (x + step_size * grad / grad.abs().mean()).clamp(0, 1)  # still attached: fine
    passes(dream_step)


@pytest.mark.parametrize("fn, match", [
    (step_with(sign=-1.0), "stepped downhill"),
    (step_with(sign=-1.0, clamp=False), "stepped downhill .* did not clamp"),
    (step_with(normalize=lambda g: g), "did not normalize the gradient"),
    (step_with(normalize=lambda g: g, clamp=False), "did not normalize the gradient"),
    (step_with(normalize=lambda g: g / g.abs().max()), "largest"),
    (step_with(normalize=lambda g: g / g.std()), "standard deviation"),
    (step_with(normalize=lambda g: g / g.norm()), "norm"),
    (step_with(clamp=False), "did not clamp"),
    (step_with(use_step_size=False), "ignored step_size"),
    (step_with(objective=lambda a: a.mean()), r"plain mean activation.*pow\(2\)"),
    (step_with(layer_override="relu1_1"), "used layer 'relu1_1'"),
], ids=["descent", "descent-unclamped", "unnormalized", "unnormalized-unclamped", "max", "std", "norm",
        "unclamped", "no-step-size", "plain-mean", "wrong-layer"])
def test_each_known_mistake_is_named(fn, match):
    fails(fn, match)


def test_detached_image_is_diagnosed():
    def forgot_requires_grad(image, extractor, layer, step_size):
        image = image.detach()
        extractor.features(image, [layer])[layer].pow(2).mean().backward()
        return (image + step_size * image.grad / image.grad.abs().mean()).clamp(0, 1)
    fails(forgot_requires_grad, "raised RuntimeError.*cut off from the image.*requires_grad_")


def test_no_grad_forward_is_diagnosed():
    def under_no_grad(image, extractor, layer, step_size):
        image = image.detach().requires_grad_()
        with torch.no_grad():
            objective = extractor.features(image, [layer])[layer].pow(2).mean()
        objective.backward()
        return (image + step_size * image.grad / image.grad.abs().mean()).clamp(0, 1)
    fails(under_no_grad, "cut off from the image")


def test_missing_backward_is_diagnosed():
    def no_backward(image, extractor, layer, step_size):
        image = image.detach().requires_grad_()
        extractor.features(image, [layer])[layer].pow(2).mean()
        return (image + step_size * image.grad / image.grad.abs().mean()).clamp(0, 1)
    fails(no_backward, r"image.grad is None.*backward\(\)")


@pytest.mark.parametrize("fn, match", [
    (lambda image, extractor, layer, step_size: image.clone(), "unchanged"),
    (lambda image, extractor, layer, step_size: None, "forget the `return`"),
    (lambda image, extractor, layer, step_size: image[0], r"shape \(3, 16, 20\)"),
    (lambda image, extractor, layer, step_size: (image + 0.01).clamp(0, 1), "wrong values"),
    (lambda image, extractor, layer, step_size: image + 2.0, "outside \\[0, 1\\]"),
], ids=["unchanged", "none", "shape", "other", "out-of-range"])
def test_other_wrong_results(fn, match):
    fails(fn, match)


def test_returning_the_gradient_is_named():
    def returns_gradient(image, extractor, layer, step_size):
        image = image.detach().requires_grad_()
        extractor.features(image, [layer])[layer].pow(2).mean().backward()
        return image.grad / image.grad.abs().mean()
    fails(returns_gradient, "returned the normalized gradient")


def test_not_implemented_says_so():
    def dream_step(image, extractor, layer, step_size):
        raise NotImplementedError("exercise: fill in this function")
    fails(dream_step, "not implemented yet")


def test_check_input_needs_the_clamp_and_a_large_raw_gradient():
    """The fixed input is what makes 'no clamp' and 'no normalization' detectable."""
    image, extractor = _check_input(), TinyExtractor()
    x = image.clone().requires_grad_()
    extractor.features(x, "relu2_1")["relu2_1"].pow(2).mean().backward()
    unclamped = image + 0.05 * x.grad / x.grad.abs().mean()
    assert unclamped.min() < -0.05 and unclamped.max() > 1.05
    assert x.grad.abs().mean() > 5


def test_reference_is_the_library_step():
    image, extractor = _check_input(), TinyExtractor()
    out, value = ascent_step(image, extractor, "relu2_1", None, 0.05)
    assert value == pytest.approx(extractor.features(image, ["relu2_1"])["relu2_1"].pow(2).mean().item())
    assert 0 <= out.min() and out.max() <= 1 and (out - image).abs().mean() > 0.01


def test_tiny_extractor_rejects_unknown_layers():
    with pytest.raises(ValueError, match="unknown layer 'relu9_9'"):
        TinyExtractor().features(_check_input(), ["relu9_9"])


def test_show_draws_one_figure():
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    check_dream_step(step_with(), show=True)
    assert len(plt.get_fignums()) == before + 1
    plt.close("all")
