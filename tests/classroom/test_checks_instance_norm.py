"""Notebook 10's instance norm check: right answers pass, each planted mistake gets its own message."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nst_helpers.classroom.checks.instance_norm import check_instance_norm


def channel(t):
    return t.view(1, -1, 1, 1)


def norm_with(dims=(2, 3), unbiased=False, eps_at="inside", fixed_eps=None, affine="right", subtract=True,
              divide=True):
    """Instance norm with one piece swapped out, as a student might write it."""
    def instance_norm(x, weight, bias, eps=1e-5):
        e = eps if fixed_eps is None else fixed_eps
        var, mean = torch.var_mean(x, dim=dims, keepdim=True, unbiased=unbiased)
        spread = {"inside": (var + e).sqrt(), "outside": var.sqrt() + e, "none": var.sqrt(), "variance": var + e}[eps_at]
        normalized = (x - mean if subtract else x) / (spread if divide else 1)
        return {"right": normalized * channel(weight) + channel(bias), "none": normalized,
                "weight-only": normalized * channel(weight), "bias-only": normalized + channel(bias),
                "swapped": normalized * channel(bias) + channel(weight),
                "bias-first": (normalized + channel(bias)) * channel(weight),
                "last-axis": normalized * weight + bias}[affine]
    return instance_norm


def passes(fn, capsys):
    check_instance_norm(fn)
    out = capsys.readouterr().out
    assert out.startswith(f"✓ {fn.__name__}:") and out.count("\n") == 1


def fails(fn, match):
    with pytest.raises(AssertionError, match=match) as info:
        check_instance_norm(fn)
    assert "\n" not in str(info.value)


def with_torch(x, weight, bias, eps=1e-5):
    return F.instance_norm(x, weight=weight, bias=bias, eps=eps)


def with_module(x, weight, bias, eps=1e-5):
    layer = nn.InstanceNorm2d(x.shape[1], affine=True, eps=eps)
    return torch.func.functional_call(layer, {"weight": weight, "bias": bias}, (x,))


def with_group_norm(x, weight, bias, eps=1e-5):
    return F.group_norm(x, x.shape[1], weight, bias, eps)


def by_hand(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = ((x - mean) ** 2).mean(dim=(2, 3), keepdim=True)
    return weight[None, :, None, None] * (x - mean) / torch.sqrt(var + eps) + bias[None, :, None, None]


@pytest.mark.parametrize("fn", [norm_with(), with_torch, with_module, with_group_norm, by_hand],
                         ids=["var_mean", "F.instance_norm", "module", "group-norm", "by-hand"])
def test_right_answers_pass(fn, capsys):
    passes(fn, capsys)


@pytest.mark.parametrize("fn, match", [
    (norm_with(dims=(0, 2, 3)), "over the whole batch .*that is batch norm"),
    (norm_with(dims=(1, 2, 3)), "over channels and positions together: that is layer norm"),
    (norm_with(dims=(0, 1, 2, 3)), "over the whole tensor at once"),
    (norm_with(dims=(2,)), "over the height only"),
    (norm_with(dims=(3,)), "over the width only"),
    (norm_with(unbiased=True), "sample variance .*unbiased=False"),
    (norm_with(eps_at="outside"), "added eps outside the square root"),
    (norm_with(eps_at="none"), "left out eps"),
    (norm_with(fixed_eps=1e-5), "ignored the eps argument"),
    (norm_with(eps_at="variance"), "divided by the variance"),
    (norm_with(divide=False), "did not divide by the standard deviation"),
    (norm_with(subtract=False), "did not subtract the mean"),
    (norm_with(affine="none"), "without the affine step"),
    (norm_with(affine="weight-only"), "forgot to add bias"),
    (norm_with(affine="bias-only"), "forgot to multiply by weight"),
    (norm_with(affine="swapped"), "swapped weight and bias"),
    (norm_with(affine="bias-first"), "added bias before multiplying by weight"),
    (norm_with(affine="last-axis"), "along the last axis .*not the channels"),
    (lambda x, weight, bias, eps=1e-5: x, "returned x unchanged"),
], ids=["batch-norm", "layer-norm", "everything", "height", "width", "unbiased", "eps-outside", "no-eps",
        "fixed-eps", "variance", "no-divide", "no-subtract", "no-affine", "no-bias", "no-weight", "swapped",
        "bias-first", "last-axis", "unchanged"])
def test_each_planted_mistake_is_named(fn, match):
    fails(fn, match)


def test_wrong_returns_and_signatures_are_named():
    fails(lambda x, weight, bias, eps=1e-5: None, "returned None")
    fails(lambda x, weight, bias, eps=1e-5: norm_with()(x, weight, bias, eps).detach().numpy(), "NumPy array")
    fails(lambda x, weight, bias, eps=1e-5: norm_with()(x, weight, bias, eps).mean().item(), "plain Python number")
    fails(lambda x, weight, bias, eps=1e-5: norm_with()(x, weight, bias, eps)[0], r"returned shape \(4, 3, 4\)")
    fails(lambda x, weight, bias: norm_with()(x, weight, bias), "takes four arguments")
    fails(lambda x, weight, bias, eps=1e-5: norm_with()(x[..., :3], weight, bias, eps) * weight + bias,
          r"view them as \(1, C, 1, 1\)")


def test_a_nan_an_in_place_change_a_blank_and_cut_gradients_are_named():
    def dividing_by_zero(x, weight, bias, eps=1e-5):
        var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, unbiased=False)
        return (x - mean) / (var * 0).sqrt() * channel(weight) + channel(bias)
    fails(dividing_by_zero, "NaN or inf")

    def in_place(x, weight, bias, eps=1e-5):
        with torch.no_grad():
            x -= x.mean(dim=(2, 3), keepdim=True)
        return norm_with()(x, weight, bias, eps)
    fails(in_place, "changed x in place")

    def blank(x, weight, bias, eps=1e-5):
        raise NotImplementedError
    fails(blank, "not implemented yet")
    fails(lambda x, weight, bias, eps=1e-5: norm_with()(x, weight, bias, eps).detach(), "no grad_fn")

    def detached_statistics(x, weight, bias, eps=1e-5):
        var, mean = torch.var_mean(x.detach(), dim=(2, 3), keepdim=True, unbiased=False)
        return (x - mean) / (var + eps).sqrt() * channel(weight) + channel(bias)
    fails(detached_statistics, "the mean and standard deviation must stay in the graph")
    fails(lambda x, weight, bias, eps=1e-5: norm_with()(x, weight, bias.detach(), eps), "reaches bias")


def test_the_planted_mistakes_give_results_apart_from_each_other_and_from_the_answer():
    from nst_helpers.classroom.checks import instance_norm
    from nst_helpers.classroom.checks.base import close
    x, weight, bias = instance_norm._inputs()
    expected = F.instance_norm(x.detach(), weight=weight.detach(), bias=bias.detach(), eps=instance_norm.EPS)
    values = [expected] + [value for value, _ in instance_norm._mistakes(x, weight, bias)]
    assert not [(i, j) for i in range(len(values)) for j in range(i)
                if close(values[i], values[j], rtol=10 * instance_norm.RTOL, atol=10 * instance_norm.ATOL)]
