"""Checks for the functions students write in notebook 09 (beyond Gatys et al.).

Like the other checks: small fixed inputs, the result compared with this package's own
implementation, known mistakes named in one line (AssertionError), a "✓" line on success.
"""
from __future__ import annotations

from typing import Callable

import torch

from ...methods.adain import EPS, adain as reference_adain
from .base import as_tensor, close, fail, function_name, known_mistake, randn, require_gradient, run_student


Stats = tuple[torch.Tensor, torch.Tensor]


def _adain_features() -> tuple[torch.Tensor, torch.Tensor]:
    """Content (2, 4, 5, 6) and style (2, 4, 7, 3) features: every image and channel has its own
    mean and spread, and the two differ in size, so that swapped roles change the shape."""
    spread = torch.tensor([[0.5, 1.0, 2.0, 3.0], [1.5, 0.7, 2.5, 1.2]]).view(2, 4, 1, 1)
    offset = torch.tensor([[1.0, -2.0, 0.0, 4.0], [3.0, 0.5, -1.0, 2.0]]).view(2, 4, 1, 1)
    content = randn(2, 4, 5, 6, seed=30) * spread + offset
    style = randn(2, 4, 7, 3, seed=31) * 3 * spread.flip(1) + 5 * offset.flip(0)
    return content, style


def _stats(x: torch.Tensor, dims: tuple[int, ...] = (2, 3), unbiased: bool = False, square: bool = False) -> Stats:
    """(mean, std) over `dims`, or (mean, variance) when square."""
    var, mean = torch.var_mean(x, dim=dims, keepdim=True, unbiased=unbiased)
    return mean, (var + EPS) if square else (var + EPS).sqrt()


def _mix(x: torch.Tensor, normalize_by: Stats, rescale_to: Stats) -> torch.Tensor:
    return (x - normalize_by[0]) / normalize_by[1] * rescale_to[1] + rescale_to[0]


def _adain_mistakes(content: torch.Tensor, style: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    """What known mistakes return on (content, style), each with its message; population and
    sample (unbiased) variance both."""
    per_channel = "AdaIN's statistics are per image and per channel, over the positions: dim=(2, 3), keepdim=True"
    mistakes = []
    for unbiased in (False, True):
        c, s = _stats(content, unbiased=unbiased), _stats(style, unbiased=unbiased)
        cv, sv = _stats(content, unbiased=unbiased, square=True), _stats(style, unbiased=unbiased, square=True)
        variance = ("used the variance where the standard deviation belongs: take its square root, "
                    "e.g. (var + eps).sqrt(), or use .std()")
        mistakes += [
            (_mix(content, cv, sv), variance), (_mix(content, cv, s), variance), (_mix(content, c, sv), variance),
            (_mix(content, s, c), "swapped content and style: normalize with the content's mean and std, then "
                                  "scale by the style's std and add the style's mean"),
            ((content - c[0]) / c[1] * s[1], "forgot to add the style's mean at the end: ... * style_std + style_mean"),
            (content / c[1] * s[1] + s[0], "did not subtract the content's mean before dividing by its std"),
            ((content - c[0]) / c[1], "only normalized the content: scale by the style's std and add its mean"),
        ]
        for dims, where in (((1, 2, 3), "over channels and positions together"),
                            ((0, 2, 3), "over the whole batch (dim 0 too), mixing the images"),
                            ((0, 1, 2, 3), "over everything at once")):
            wrong = _mix(content, _stats(content, dims, unbiased), _stats(style, dims, unbiased))
            mistakes.append((wrong, f"computed the mean and std {where}: {per_channel}"))
    mistakes.append((content, "returned content_features unchanged"))
    return mistakes


def _adain_hint(error: Exception) -> str:
    if isinstance(error, RuntimeError) and "size" in str(error):
        return ("take the statistics over dim=(2, 3) with keepdim=True, so that they have shape (N, C, 1, 1) "
                "and fit both the content's and the style's size")
    return ""


def _adain_shape(name: str, out: torch.Tensor, content: torch.Tensor, style: torch.Tensor) -> None:
    if out.shape == content.shape:
        return
    if out.shape == style.shape:
        fail(name, f"returned the style's shape {tuple(style.shape)}: you swapped content and style; normalize "
                    "content_features and give them the style's mean and std")
    if out.shape[-2:] == (1, 1):
        fail(name, f"returned shape {tuple(out.shape)}, statistics rather than features: return "
                    "(content - content_mean) / content_std * style_std + style_mean")
    fail(name, f"returned shape {tuple(out.shape)}, expected the content's shape {tuple(content.shape)}")


def _adain_values(name: str, out: torch.Tensor, content: torch.Tensor, style: torch.Tensor) -> None:
    if any(close(out, _mix(content, _stats(content, unbiased=u), _stats(style, unbiased=u)), atol=1e-4)
           for u in (False, True)):
        return
    if not torch.isfinite(out).all():
        fail(name, "returned NaN or inf on features with no constant channel: check the divisions")
    fail(name, known_mistake(out, _adain_mistakes(content, style)) or
          "wrong values: per channel, (content - content_mean) / content_std * style_std + style_mean")


def _adain_constant_channel(name: str, fn: Callable, content: torch.Tensor, style: torch.Tensor) -> None:
    """A constant channel has std 0: without an eps the division gives NaN."""
    flat = content.clone()
    flat[0, 1] = 2.5
    out = as_tensor(name, run_student(name, fn, flat, style.clone(), hint=_adain_hint))
    if not torch.isfinite(out).all():
        fail(name, "returned NaN where a content channel is constant (std 0): add a small eps before "
                    f"dividing, e.g. std = (var + {EPS:g}).sqrt()")
    if not close(out[0, 1], reference_adain(flat, style)[0, 1], atol=1e-3):
        fail(name, "a constant content channel should become the style's mean for that channel "
                    "(0 / std * style_std + style_mean)")


def check_adain(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], show: bool = False) -> None:
    """fn(content_features (N, C, h, w), style_features (N, C, h', w')) must return the content
    features with each image's channels normalized over their positions and given the style's
    mean and std, shape (N, C, h, w). Population or sample std both pass; an eps must keep
    constant channels finite. show: plot each channel's mean and std for content, style and yours."""
    name = function_name(fn, "adain")
    content, style = _adain_features()
    leaf = content.clone().requires_grad_()
    given = leaf * 1.0  # not a leaf, so that an in-place change runs and can be told apart
    out = as_tensor(name, run_student(name, fn, given, style.clone(), hint=_adain_hint))
    if not torch.equal(given.detach(), content):
        fail(name, "changed content_features in place: compute a new tensor, (x - mean) rather than x -= mean")
    _adain_shape(name, out, content, style)
    _adain_values(name, out, content, style)
    require_gradient(name, out, {"content_features": leaf})
    _adain_constant_channel(name, fn, content, style)
    print(f"✓ {name}: each image's channels get the style's mean and std; constant channels stay finite")
    if show:
        _plot_statistics({"content": content, "style": style, f"{name}(content, style)": out.detach()})


def _plot_statistics(features: dict[str, torch.Tensor]) -> None:
    """Mean (dot) and ± one std (bar) of every channel of the first image, one colour per tensor."""
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6, 3.2))
    for i, (label, f) in enumerate(features.items()):
        mean, std = _stats(f[:1].float().cpu())
        channels = torch.arange(f.shape[1]) + (i - 1) * 0.2
        ax.errorbar(channels, mean.flatten(), yerr=std.flatten(), fmt="o", capsize=3, label=label)
    ax.set_xticks(range(f.shape[1]))
    ax.set_xlabel("channel")
    ax.set_ylabel("mean ± std")
    ax.set_title("first image of the batch")
    ax.legend(fontsize=8)
