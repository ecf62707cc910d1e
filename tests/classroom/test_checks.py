"""The notebook checks: right answers pass, each known mistake gets its own explanation."""
import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import nst_helpers as nh  # noqa: E402
from nst_helpers.classroom import checks  # noqa: E402
from nst_helpers.classroom.checks import colour as colour_checks  # noqa: E402
from nst_helpers.recipes.colour import match_histogram, preserve_colour  # noqa: E402

MEAN_BGR = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
BT601 = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------- right answers (the notebooks' solutions)

def gram(features):
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def content(features, target):
    return ((features - target) ** 2).mean()


def style(features, target_grams, weights):
    return sum(w * ((gram(features[name]) - target_grams[name]) ** 2).mean() for name, w in weights.items())


def diffs(image):
    return image[..., :, 1:] - image[..., :, :-1], image[..., 1:, :] - image[..., :-1, :]


def tv(image):
    dx, dy = diffs(image)
    return dx.abs().mean() + dy.abs().mean()


def preprocess(image):
    return image.flip(1) * 255.0 - MEAN_BGR


def make_closure(optimizer, image, objective):
    def closure():
        optimizer.zero_grad()
        loss = objective(image)
        loss.backward()
        return loss
    return closure


def channel(features, layer, index):
    return -features[layer][:, index].mean()


def colour_pillow(stylized, content_image):  # the notebook's solution
    y, _, _ = nh.to_pil(stylized).convert("YCbCr").split()
    _, cb, cr = nh.to_pil(content_image).convert("YCbCr").split()
    from PIL import Image
    return nh.load_image(Image.merge("YCbCr", (y, cb, cr)).convert("RGB"))


def colour_matrix(m, clamp=True):
    """Luminance-only transfer through any linear luma/chroma space given by its 3x3 matrix."""
    def fn(stylized, content_image):
        a, b = (torch.einsum("ij,njhw->nihw", m, x) for x in (stylized, content_image))
        out = torch.einsum("ij,njhw->nihw", torch.linalg.inv(m), torch.cat([a[:, :1], b[:, 1:]], 1))
        return out.clamp(0, 1) if clamp else out
    return fn


YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
YUV = torch.tensor([[0.299, 0.587, 0.114], [-0.14713, -0.28886, 0.436], [0.615, -0.51499, -0.10001]])
BT709 = torch.tensor([[0.2126, 0.7152, 0.0722], [-0.1146, -0.3854, 0.5], [0.5, -0.4542, -0.0458]])

# Every right answer here is written in this file, never the package's own function: the checks
# compare with the package's implementation, so passing that to them could not fail.
RIGHT = [
    (checks.check_gram, gram),
    (checks.check_content_loss, content),
    (checks.check_content_loss, lambda f, t: F.mse_loss(t, f)),  # argument order does not matter
    (checks.check_style_loss, style),
    (checks.check_tv_loss, tv),
    (checks.check_preprocess, preprocess),
    (checks.check_preprocess, lambda x: x[:, [2, 1, 0]] * 255 - MEAN_BGR),
    (checks.check_preprocess, lambda x: (x * 255 - MEAN_BGR.flip(1)).flip(1)),  # RGB mean, then flip
    (checks.check_lbfgs_closure, make_closure),
    (checks.check_channel_objective, channel),
    (checks.check_preserve_colour, colour_pillow),
    (checks.check_preserve_colour, colour_matrix(BT601)),
    (checks.check_preserve_colour, colour_matrix(YIQ)),
    (checks.check_preserve_colour, colour_matrix(YUV)),
    (checks.check_preserve_colour, colour_matrix(BT709)),
]


@pytest.mark.parametrize("check, fn", RIGHT)
def test_right_answers_pass_with_one_line(check, fn, capsys):
    check(fn)
    out = capsys.readouterr().out
    assert out.startswith("✓") and out.count("\n") == 1


def test_loss_item_passes_for_lbfgs(capsys):
    """Decision: a closure returning loss.item() works with L-BFGS (it calls float()), so it passes."""
    def item_closure(optimizer, image, objective):
        def closure():
            optimizer.zero_grad()
            loss = objective(image)
            loss.backward()
            return loss.item()
        return closure
    checks.check_lbfgs_closure(item_closure)
    assert capsys.readouterr().out.startswith("✓")


def stub(*args):
    raise NotImplementedError


def closure_stub(optimizer, image, objective):
    def closure():
        raise NotImplementedError
    return closure


CHECKS = [checks.check_gram, checks.check_content_loss, checks.check_style_loss, checks.check_tv_loss,
          checks.check_preprocess, checks.check_lbfgs_closure, checks.check_channel_objective,
          checks.check_preserve_colour]


@pytest.mark.parametrize("check, blank", [(check, stub) for check in CHECKS]
                         + [(checks.check_lbfgs_closure, closure_stub)])
def test_blanks_say_not_implemented(check, blank, capsys):
    with pytest.raises(AssertionError, match=r"not implemented yet: replace the `raise NotImplementedError` "
                                             r"with your code") as info:
        check(blank)
    assert "\n" not in str(info.value)
    assert capsys.readouterr().out == ""


def test_device_mismatch_gets_a_hint():
    def on_meta(features):
        return gram(features) + torch.zeros(4, 4, device="meta")
    with pytest.raises(AssertionError, match="make new tensors on the input's device"):
        checks.check_gram(on_meta)


@pytest.mark.parametrize("check", CHECKS)
def test_other_exceptions_are_one_line(check):
    def broken(*args):
        raise ValueError("something odd\nsecond line")
    with pytest.raises(AssertionError, match=r"^broken raised ValueError: something odd$"):
        check(broken)


# ---------------------------------------------------------------- planted mistakes

def flat_of(features):
    n, c, h, w = features.shape
    return features.reshape(n, c, h * w), (n, c, h, w)


def gram_scaled(divisor):
    def fn(features):
        flat, (n, c, h, w) = flat_of(features)
        return flat @ flat.transpose(1, 2) / divisor(n, c, h, w)
    return fn


def gram_no_batch(features):
    _, c, h, w = features.shape
    flat = features.reshape(c, h * w)
    return flat @ flat.T / (c * h * w)


def gram_single_image(features):  # right for N = 1, fails for a batch
    _, c, h, w = features.shape
    flat = features.view(c, h * w)
    return (flat @ flat.T / (c * h * w)).unsqueeze(0)


def gram_first_image_only(features):
    flat, (n, c, h, w) = flat_of(features)
    return (flat[0] @ flat[0].T / (c * h * w)).expand(n, c, c)


def gram_transposed(features):
    flat, (n, c, h, w) = flat_of(features)
    return flat.transpose(1, 2) @ flat / (c * h * w)


def closure_with(body):
    """make_closure whose closure runs body(optimizer, image, objective)."""
    def make(optimizer, image, objective):
        return lambda: body(optimizer, image, objective)
    return make


def no_backward(opt, image, objective):
    opt.zero_grad()
    return objective(image)


def no_zero_grad(opt, image, objective):
    loss = objective(image)
    loss.backward()
    return loss


def zero_after_backward(opt, image, objective):
    loss = objective(image)
    loss.backward()
    opt.zero_grad()
    return loss


def no_return(opt, image, objective):
    opt.zero_grad()
    objective(image).backward()


def steps_inside(opt, image, objective):
    opt.zero_grad()
    loss = objective(image)
    loss.backward()
    opt.step()
    return loss


def backward_twice(opt, image, objective):
    opt.zero_grad()
    loss = objective(image)
    loss.backward(retain_graph=True)
    loss.backward()
    return loss


def wrong_return(opt, image, objective):
    opt.zero_grad()
    loss = objective(image)
    loss.backward()
    return loss * 2


def style_terms(features, targets, weights, make_gram=gram, reduce="mean"):
    return {name: w * F.mse_loss(make_gram(features[name]), targets[name], reduction=reduce)
            for name, w in weights.items()}


def style_last_layer_only(features, targets, weights):
    for name, w in weights.items():
        loss = w * F.mse_loss(gram(features[name]), targets[name])
    return loss


def style_first_layer_only(features, targets, weights):
    for name, w in weights.items():
        return w * F.mse_loss(gram(features[name]), targets[name])


def gram_unnormalized(features):
    flat, _ = flat_of(features)
    return flat @ flat.transpose(1, 2)


def gram_by_hw(features):
    flat, (n, c, h, w) = flat_of(features)
    return flat @ flat.transpose(1, 2) / (h * w)


def to_ycbcr(x):
    return torch.einsum("ij,njhw->nihw", BT601, x)


content_image, stylized_image = colour_checks._colour_test_images()

MISTAKES = [
    # Gram matrix
    (checks.check_gram, lambda f: None, "returned None: did you forget the `return`"),
    (checks.check_gram, gram_no_batch, r"keep the batch axis, expected \(N, C, C\) = \(1, 4, 4\)"),
    (checks.check_gram, gram_transposed, "multiplied the wrong way round"),
    (checks.check_gram, gram_scaled(lambda n, c, h, w: 1), "the result is not normalized: divide by C\\*H\\*W"),
    (checks.check_gram, gram_scaled(lambda n, c, h, w: h * w), r"is divided by H\*W only"),
    (checks.check_gram, gram_scaled(lambda n, c, h, w: c), "is divided by C only"),
    (checks.check_gram, gram_scaled(lambda n, c, h, w: c * c), r"is divided by C\*C"),
    (checks.check_gram, gram_scaled(lambda n, c, h, w: n * c * h * w), "divided by N.*the batch size too"),
    (checks.check_gram, gram_scaled(lambda n, c, h, w: 2 * c * h * w), "0.5 times the expected ones"),
    (checks.check_gram, lambda f: gram(f).detach(), "cut off from its input"),
    (checks.check_gram, lambda f: torch.from_numpy(gram(f).detach().numpy()), "cut off from its input"),
    (checks.check_gram, lambda f: gram(f).detach().numpy(), "returned a NumPy array"),
    (checks.check_gram, gram_single_image, "works for one image but not for a batch of two"),
    (checks.check_gram, gram_first_image_only, "right for one image but wrong for a batch of two"),
    (checks.check_gram, lambda f: gram(f.abs()), "wrong values"),
    # content loss
    (checks.check_content_loss, lambda f, t: ((f - t) ** 2).sum(), "summed the squared differences"),
    (checks.check_content_loss, lambda f, t: (f - t).abs().mean(), "used absolute differences"),
    (checks.check_content_loss, lambda f, t: (f - t).abs().sum(), "summed absolute differences"),
    (checks.check_content_loss, lambda f, t: (f - t) ** 2, r"shape \(1, 8, 5, 6\), expected a single number"),
    (checks.check_content_loss, lambda f, t: ((f.detach() - t) ** 2).mean(), "cut off from its input"),
    (checks.check_content_loss, lambda f, t: ((f - t) ** 2).mean().sqrt(), "took the square root"),
    (checks.check_content_loss, lambda f, t: ((f - t) ** 2).mean().item(), "plain Python number"),
    (checks.check_content_loss, lambda f, t: ((f - t) ** 2).mean() / 2, "halved the mean squared error"),
    (checks.check_content_loss, lambda f, t: ((f - t) ** 2).sum() / 2, "paper's 1/2 \\* sum"),
    (checks.check_content_loss, lambda f, t: (f - t).mean() ** 2, "squared the mean difference"),
    (checks.check_content_loss, lambda f, t: ((f - t) ** 3).mean(), r"returned -?[\d.]+ on the check's input"),
    # style loss
    (checks.check_style_loss, lambda f, t, w: sum(style_terms(f, t, {k: 1.0 for k in w}).values()),
     "ignored the weights"),
    (checks.check_style_loss, style_last_layer_only, "only layer 'relu3_1' counts"),
    (checks.check_style_loss, style_first_layer_only, "only layer 'relu1_1' counts"),
    (checks.check_style_loss, lambda f, t, w: sum(w[k] * F.mse_loss(f[k], t[k]) for k in w),
     r"raised RuntimeError.*the raw features \(N, C, h, w\) don't fit a Gram matrix"),
    (checks.check_style_loss, lambda f, t, w: sum(w[k] * ((f[k] - t[k]) ** 2).mean() for k in w),
     "don't fit a Gram matrix"),
    (checks.check_style_loss, lambda f, t, w: sum(style_terms(f, t, w).values()) / len(w),
     "divided by the number of layers"),
    (checks.check_style_loss, lambda f, t, w: sum(style_terms(f, t, {k: 1.0 for k in w}).values()) / len(w),
     "averaged the layers' terms and ignored the weights"),
    (checks.check_style_loss, lambda f, t, w: sum(style_terms(f, t, w).values()) / sum(w.values()),
     "divided by the sum of the weights"),
    (checks.check_style_loss, lambda f, t, w: sum(style_terms(f, t, w, gram_unnormalized).values()),
     "Gram matrices of the features are not normalized"),
    (checks.check_style_loss, lambda f, t, w: sum(style_terms(f, t, w, gram_by_hw).values()),
     r"are divided by H\*W only"),
    (checks.check_style_loss, lambda f, t, w: sum(style_terms(f, t, w, reduce="sum").values()),
     "summed the squared differences of the Gram entries"),
    (checks.check_style_loss, lambda f, t, w: sum(w[k] * F.mse_loss(gram(v), t[k]) for k, v in f.items()),
     "raised KeyError: 'relu4_2' .*loop over the layers of target_grams"),
    (checks.check_style_loss, lambda f, t, w: torch.stack(list(style_terms(f, t, w).values())),
     "add up one number per layer"),
    (checks.check_style_loss, lambda f, t, w: style({k: v.detach() for k, v in f.items()}, t, w),
     "cut off from its input"),
    # total variation
    (checks.check_tv_loss, lambda x: diffs(x)[0].abs().mean(), "only measured left-right differences"),
    (checks.check_tv_loss, lambda x: diffs(x)[1].abs().mean(), "only measured up-down differences"),
    (checks.check_tv_loss, lambda x: sum(d.pow(2).mean() for d in diffs(x)), "this project's TV loss is the L1"),
    (checks.check_tv_loss, lambda x: sum(d.abs().sum() for d in diffs(x)), "summed instead of averaging"),
    (checks.check_tv_loss, lambda x: sum(d.pow(2).sum() for d in diffs(x)), "squared and summed"),
    (checks.check_tv_loss, lambda x: (x.roll(1, 3) - x).abs().mean() + (x.roll(1, 2) - x).abs().mean(),
     "as torch.roll does"),
    (checks.check_tv_loss, lambda x: (x - x.roll(-1, -1)).abs().mean() + (x - x.roll(-1, -2)).abs().mean(),
     "as torch.roll does"),
    (checks.check_tv_loss, lambda x: tv(x) / 2, "averaged the two directions"),
    (checks.check_tv_loss, lambda x: torch.cat([d.abs().flatten() for d in diffs(x)]).mean(),
     "took one mean over both directions"),
    (checks.check_tv_loss, lambda x: tv(x.detach()), "cut off from its input"),
    # VGG preprocessing
    (checks.check_preprocess, lambda x: x * 255 - MEAN_BGR, "kept the RGB channel order"),
    (checks.check_preprocess, lambda x: x * 255 - MEAN_BGR.flip(1), "kept the RGB channel order"),
    (checks.check_preprocess, lambda x: x.flip(1) * 255, "did not subtract the mean"),
    (checks.check_preprocess, lambda x: x * 255, "kept RGB and did not subtract the mean"),
    (checks.check_preprocess, lambda x: x.flip(1) - MEAN_BGR, "did not scale to 0-255"),
    (checks.check_preprocess, lambda x: (x.flip(1) - MEAN_BGR) * 255, "subtracted the mean before scaling"),
    (checks.check_preprocess, lambda x: x.flip(1) * 255 - MEAN_BGR.flip(1),
     "subtracted the means from the wrong channels"),
    (checks.check_preprocess, lambda x: (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
     / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), "used torchvision's normalization"),
    (checks.check_preprocess, lambda x: x.flip(0) * 255 - MEAN_BGR, "flipped axis 0, not the channels"),
    (checks.check_preprocess, lambda x: x.flip(-1) * 255 - MEAN_BGR, "flipped axis 3, not the channels"),
    (checks.check_preprocess, lambda x: preprocess(x).permute(0, 2, 3, 1), r"returned shape \(2, 4, 5, 3\)"),
    (checks.check_preprocess, lambda x: preprocess(x.detach()), "cut off from its input"),
    (checks.check_preprocess, lambda x: x / 255 - MEAN_BGR, "wrong values: flip RGB to BGR"),
    (checks.check_preprocess, lambda x: x.flip(1) * 255 - MEAN_BGR.flatten(), "shape the mean as \\(1, 3, 1, 1\\)"),
    # L-BFGS closure
    (checks.check_lbfgs_closure, lambda o, i, f: None, "returned None: return the closure function itself"),
    (checks.check_lbfgs_closure, closure_with(no_return), "the closure returned None: return the loss"),
    (checks.check_lbfgs_closure, closure_with(no_backward), "no gradient reached the image.*loss.backward"),
    (checks.check_lbfgs_closure, closure_with(no_zero_grad), "the gradients were not zeroed"),
    (checks.check_lbfgs_closure, closure_with(zero_after_backward), "zero the gradients first.*not the other way"),
    (checks.check_lbfgs_closure, closure_with(steps_inside), "called optimizer.step inside the closure"),
    (checks.check_lbfgs_closure, closure_with(backward_twice), "called backward\\(\\) more than once"),
    (checks.check_lbfgs_closure, closure_with(wrong_return), "return the loss you called backward\\(\\) on"),
    (checks.check_lbfgs_closure, lambda o, i, f: make_closure(o, i, f)(), "returned the loss, not a function"),
    (checks.check_lbfgs_closure, closure_with(lambda o, i, f: "loss"), "the closure returned a str"),
    # feature visualization
    (checks.check_channel_objective, lambda f, l, c: f[l][:, c].mean(), "the loop minimizes, so return minus"),
    (checks.check_channel_objective, lambda f, l, c: -f[l][c].mean(), "indexed the batch axis"),
    (checks.check_channel_objective, lambda f, l, c: f[l][c].mean(), "indexed the batch axis.*return minus"),
    (checks.check_channel_objective, lambda f, l, c: -f[l].mean(), "averaged the whole layer"),
    (checks.check_channel_objective, lambda f, l, c: -f[l][:, c].sum(), "does not depend on the image size"),
    (checks.check_channel_objective, lambda f, l, c: -f[l][0, c].mean(), "only the first image of the batch"),
    (checks.check_channel_objective, lambda f, l, c: -f["relu1_1"][:, c].mean(), "used layer 'relu1_1'"),
    (checks.check_channel_objective, lambda f, l, c: -f[l][:, c].pow(2).mean(), "squared the activations"),
    (checks.check_channel_objective, lambda f, l, c: -f[l][:, c].mean(dim=(1, 2)), r"shape \(3,\), expected a single"),
    (checks.check_channel_objective, lambda f, l, c: -f[l][:, c].detach().mean(), "cut off from its input"),
    # colour preservation
    (checks.check_preserve_colour, lambda s, c: s, "returned the stylized image unchanged"),
    (checks.check_preserve_colour, lambda s, c: c, "returned the content image"),
    (checks.check_preserve_colour, lambda s, c: preserve_colour(c, s), "swapped the roles"),
    (checks.check_preserve_colour, colour_matrix(BT601, clamp=False), r"outside \[0, 1\]: clamp the result"),
    (checks.check_preserve_colour, lambda s, c: preserve_colour(s, c)[0], r"returned shape \(3, 24, 32\)"),
    (checks.check_preserve_colour, lambda s, c: (c + s.mean(1, keepdim=True) - c.mean(1, keepdim=True)).clamp(0, 1),
     "plain average of R, G and B"),
    (checks.check_preserve_colour, lambda s, c: nh.to_pil(preserve_colour(s, c)), "returned a PIL image"),
    (checks.check_preserve_colour, lambda s, c: (s + c) / 2, "differs from luminance-only transfer"),
    (checks.check_preserve_colour, lambda s, c: preserve_colour(s, c) * 255, "looks like 0-255, divide by 255"),
    (checks.check_preserve_colour, lambda s, c: (preserve_colour(s, c) * 255).byte(), "torch.uint8 tensor"),
]


@pytest.mark.filterwarnings("ignore:Using a target size")  # F.mse_loss on features vs Grams
@pytest.mark.parametrize("check, fn, message", MISTAKES)
def test_each_mistake_gets_its_explanation(check, fn, message, capsys):
    with pytest.raises(AssertionError, match=message) as info:
        check(fn)
    assert "\n" not in str(info.value), "one line"
    assert info.value.__context__ is None or info.value.__suppress_context__, "no chained traceback"
    assert capsys.readouterr().out == ""


def test_plain_average_is_far_from_luminance_but_standard_spaces_are_close():
    expected = preserve_colour(stylized_image, content_image)
    mad = lambda fn: float((fn(stylized_image, content_image) - expected).abs().mean())  # noqa: E731
    for m in (BT601, YIQ, YUV, BT709):
        assert mad(colour_matrix(m)) < colour_checks.COLOUR_TOLERANCE / 2
    plain = lambda s, c: (c + s.mean(1, keepdim=True) - c.mean(1, keepdim=True)).clamp(0, 1)  # noqa: E731
    assert mad(plain) > 2 * colour_checks.COLOUR_TOLERANCE


@pytest.mark.parametrize("check, fn", [(checks.check_gram, gram), (checks.check_lbfgs_closure, make_closure),
                                       (checks.check_preserve_colour, preserve_colour)])
def test_show_draws_a_figure(check, fn, capsys):
    check(fn, show=True)
    assert capsys.readouterr().out.startswith("✓")
    assert len(plt.get_fignums()) == 1


def test_the_step_probe_leaves_lbfgs_alone():
    step = torch.optim.LBFGS.step
    with pytest.raises(AssertionError, match="inside the closure"):
        checks.check_lbfgs_closure(closure_with(steps_inside))
    assert torch.optim.LBFGS.step is step


# ---------------------------------------------------------------- colour.py

def in_gamut_images():
    generator = torch.Generator().manual_seed(0)
    stylized = 0.3 + 0.4 * torch.rand(1, 3, 20, 24, generator=generator)
    content_image = 0.4 + 0.2 * torch.rand(1, 3, 20, 24, generator=generator)
    return stylized, content_image


def test_preserve_colour_keeps_stylized_luminance_and_content_chroma():
    stylized, content_image = in_gamut_images()
    out = preserve_colour(stylized, content_image)
    assert out.shape == stylized.shape and out.dtype == torch.float32
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    ycc, ycc_s, ycc_c = to_ycbcr(out), to_ycbcr(stylized), to_ycbcr(content_image)
    assert (ycc[:, 0] - ycc_s[:, 0]).abs().max() < 3 / 255
    assert (ycc[:, 1:] - ycc_c[:, 1:]).abs().max() < 3 / 255
    assert (ycc[:, 0] - ycc_c[:, 0]).abs().mean() > 0.05, "the luminance did change"


def test_preserve_colour_of_itself_is_itself():
    stylized, _ = in_gamut_images()
    error = (preserve_colour(stylized, stylized) - stylized).abs()
    assert error.mean() < 2 / 255 and error.max() < 5 / 255  # Pillow's YCbCr is 8-bit


@pytest.mark.parametrize("stylized, content_image, name", [
    (torch.rand(3, 8, 8), torch.rand(1, 3, 8, 8), "stylized"),
    (torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 8), "content"),
    (torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9), "content"),
    (torch.rand(1, 3, 8, 8), np.zeros((1, 3, 8, 8)), "content"),
])
def test_preserve_colour_rejects_bad_shapes(stylized, content_image, name):
    with pytest.raises(ValueError, match=f"^{name}: ") as info:
        preserve_colour(stylized, content_image)
    assert "\n" not in str(info.value)


def test_match_histogram_matches_each_channels_mean_and_std():
    generator = torch.Generator().manual_seed(1)
    source = 0.3 + 0.2 * torch.rand(1, 3, 16, 20, generator=generator)
    reference = torch.tensor([0.6, 0.4, 0.5]).view(1, 3, 1, 1) + 0.1 * torch.randn(1, 3, 12, 10, generator=generator)
    out = match_histogram(source, reference.clamp(0, 1))
    assert out.shape == source.shape and 0 <= float(out.min()) and float(out.max()) <= 1
    for stat in (lambda x: x.mean(dim=(2, 3)), lambda x: x.std(dim=(2, 3), correction=0)):
        assert torch.allclose(stat(out), stat(reference.clamp(0, 1)), atol=1e-3)
    assert torch.allclose(match_histogram(source, source), source, atol=1e-5)
    flat = match_histogram(torch.full((1, 3, 4, 4), 0.2), reference.clamp(0, 1))
    assert torch.allclose(flat, reference.clamp(0, 1).mean(dim=(2, 3), keepdim=True).expand_as(flat))
    with pytest.raises(ValueError, match="^reference: "):
        match_histogram(source, torch.rand(3, 4, 4))


# ---------------------------------------------------------------------------- masked Gram (notebook 07)

def _masked_gram(features, mask, resize=True, apply=True, area=True):
    n, c, h, w = features.shape
    if resize:
        mask = F.interpolate(mask, size=(h, w), mode="bilinear", align_corners=False)
    flat = (features * mask if apply else features).reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * (mask.sum() if area else h * w))


def test_masked_gram_right_answer_passes(capsys):
    checks.check_masked_gram(_masked_gram)
    assert capsys.readouterr().out.startswith("✓ _masked_gram")


@pytest.mark.parametrize("wrong, message", [
    (lambda f, m: _masked_gram(f, m, apply=False), "the mask is not applied"),
    (lambda f, m: _masked_gram(f, m, area=False), "divided by C\\*h\\*w of the whole image"),
    (lambda f, m: _masked_gram(f, m, resize=False), "resize the mask"),
    (lambda f, m: _masked_gram(f, m).detach(), "cut off from its input"),
    (lambda f, m: _masked_gram(f, m)[0], "expected \\(1, C, C\\)"),
    (lambda f, m: _masked_gram(f, m) * 1.5, "must equal the Gram matrix of the left half"),
])
def test_masked_gram_mistakes_are_named(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_masked_gram(wrong)
