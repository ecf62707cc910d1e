"""check_adain: right answers pass with one ✓ line, each planted mistake gets its own message."""
import matplotlib
import pytest
import torch
import torch.nn.functional as F

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nst_helpers.classroom.checks.adain import check_adain  # noqa: E402
from nst_helpers.methods.adain import adain as reference_adain  # noqa: E402

EPS = 1e-5


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def stats(x, dims=(2, 3), eps=EPS, unbiased=False, keepdim=True):
    var, mean = torch.var_mean(x, dim=dims, keepdim=keepdim, unbiased=unbiased)
    return mean, (var + eps).sqrt()


def adain(content_features, style_features):  # the notebook's solution
    content_mean, content_std = stats(content_features)
    style_mean, style_std = stats(style_features)
    return (content_features - content_mean) / content_std * style_std + style_mean


def adain_torch_std(c, s):
    """Sample std (torch's default) plus eps: the usual PyTorch AdaIN code."""
    return ((c - c.mean((2, 3), keepdim=True)) / (c.std((2, 3), keepdim=True) + EPS)
            * s.std((2, 3), keepdim=True) + s.mean((2, 3), keepdim=True))


def adain_instance_norm(c, s):
    style_mean, style_std = stats(s)
    return F.instance_norm(c, eps=EPS) * style_std + style_mean


@pytest.mark.parametrize("fn", [adain, adain_torch_std, adain_instance_norm, reference_adain])
def test_right_answers_pass_with_one_line(fn, capsys):
    check_adain(fn)
    out = capsys.readouterr().out
    assert out.startswith("✓ ") and out.count("\n") == 1


def test_show_draws_a_figure(capsys):
    check_adain(adain, show=True)
    assert plt.get_fignums()


def mix(c, s, c_stats, s_stats):
    return (c - c_stats[0]) / c_stats[1] * s_stats[1] + s_stats[0]


def variance_everywhere(c, s):
    (cm, cs), (sm, ss) = stats(c), stats(s)
    return (c - cm) / cs ** 2 * ss ** 2 + sm


def variance_for_the_style(c, s):
    (cm, cs), (sm, ss) = stats(c), stats(s)
    return (c - cm) / cs * ss ** 2 + sm


def no_eps(c, s):
    return mix(c, s, stats(c, eps=0.0), stats(s, eps=0.0))


def no_eps_nan_to_zero(c, s):
    return torch.nan_to_num(no_eps(c, s))


def in_place(c, s):
    c -= c.mean((2, 3), keepdim=True)
    return c / stats(c)[1] * stats(s)[1] + stats(s)[0]


def statistics_only(c, s):
    return stats(s)[0]


def not_implemented(c, s):
    raise NotImplementedError("exercise: fill in this function")


MISTAKES = [
    (variance_everywhere, "used the variance where the standard deviation belongs"),
    (variance_for_the_style, "used the variance where the standard deviation belongs"),
    (lambda c, s: mix(c, s, stats(c, (1, 2, 3)), stats(s, (1, 2, 3))), "over channels and positions together"),
    (lambda c, s: mix(c, s, stats(c, (0, 2, 3)), stats(s, (0, 2, 3))), "over the whole batch"),
    (lambda c, s: mix(c, s, stats(c, (0, 1, 2, 3)), stats(s, (0, 1, 2, 3))), "over everything at once"),
    (lambda c, s: adain(s, c), "returned the style's shape"),
    (lambda c, s: mix(c, s, stats(s), stats(c)), "swapped content and style: normalize with the content's"),
    (no_eps, "returned NaN where a content channel is constant"),
    (no_eps_nan_to_zero, "a constant content channel should become the style's mean"),
    (lambda c, s: (c - stats(c)[0]) / stats(c)[1] * stats(s)[1], "forgot to add the style's mean"),
    (lambda c, s: c / stats(c)[1] * stats(s)[1] + stats(s)[0], "did not subtract the content's mean"),
    (lambda c, s: (c - stats(c)[0]) / stats(c)[1], "only normalized the content"),
    (lambda c, s: c.clone(), "returned content_features unchanged"),
    (lambda c, s: mix(c, s, stats(c, keepdim=False), stats(s, keepdim=False)), "keepdim=True"),
    (in_place, "changed content_features in place"),
    (lambda c, s: adain(c, s).detach(), "cut off from its input"),
    (lambda c, s: None, "returned None"),
    (lambda c, s: adain(c, s).detach().numpy(), "returned a NumPy array"),
    (statistics_only, "statistics rather than features"),
    (lambda c, s: adain(c, s)[:, :, :4], "expected the content's shape (2, 4, 5, 6)"),
    (lambda c, s: adain(c, s) * 1.1, "wrong values: per channel"),
    (not_implemented, "not implemented yet"),
]


@pytest.mark.parametrize("fn, message", MISTAKES)
def test_each_mistake_gets_its_explanation(fn, message, capsys):
    with pytest.raises(AssertionError) as failure:
        check_adain(fn)
    text = str(failure.value)
    assert message in text
    assert "\n" not in text, "one line"
    name = fn.__name__ if fn.__name__.isidentifier() else "adain"
    assert text.startswith(name), "names the student's function"
    assert not capsys.readouterr().out.startswith("✓")
