"""The check for notebook 09's second exercise: AdaIN's style loss (Huang & Belongie 2017), which
compares each channel's mean and spread instead of the Gram matrix.

Like the other checks: small fixed features, the result compared with this package's
mean_std_loss, known mistakes named in one line (AssertionError), a "✓" line on success.
"""
from __future__ import annotations

from typing import Callable, Mapping

import torch

from ...methods.adain import EPS, mean_std_loss
from .base import as_scalar, close, fail, function_name, known_mistake, randn, require_gradient, run_student

MeanStdLoss = Callable[[Mapping[str, torch.Tensor], Mapping[str, torch.Tensor], Mapping[str, float]], torch.Tensor]

#: (C, h, w) of the image's and of the style's features per layer: sizes differ, and h*w is small,
#: so that the sample std (divided by h*w - 1) is visibly not the population one.
IMAGE_SHAPES = {"relu1_1": (3, 4, 5), "relu2_1": (5, 3, 4), "relu3_1": (6, 2, 3)}
STYLE_SHAPES = {"relu1_1": (3, 5, 3), "relu2_1": (5, 2, 5), "relu3_1": (6, 3, 3)}
WEIGHTS = {"relu1_1": 0.5, "relu2_1": 2.0, "relu3_1": 4.0}


def _inputs() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """A batch of two images' features (plus a content layer with no style) and the style's, each
    channel with its own mean and spread."""
    features, style = {}, {}
    for i, layer in enumerate(IMAGE_SHAPES):
        c = IMAGE_SHAPES[layer][0]
        spread = torch.linspace(0.5, 2.5, c).view(1, c, 1, 1)
        features[layer] = (randn(2, *IMAGE_SHAPES[layer], seed=70 + i) * spread + 1).requires_grad_()
        style[layer] = randn(2, *STYLE_SHAPES[layer], seed=80 + i) * spread.flip(1) * 1.5 - 0.5
    features["relu4_2"] = randn(2, 7, 2, 2, seed=79)
    return features, style


def _stats(x: torch.Tensor, dims: tuple[int, ...] = (2, 3), unbiased: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    var, mean = torch.var_mean(x, dim=dims, keepdim=True, unbiased=unbiased)
    return mean, var


def _terms(features: Mapping[str, torch.Tensor], style: Mapping[str, torch.Tensor], *, dims: tuple[int, ...] = (2, 3),
           unbiased: bool = False, spread: str = "std", reduce: str = "mean") -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Each layer's (mean term, spread term) unweighted, computed one way or another."""
    out = {}
    for layer in WEIGHTS:
        (fm, fv), (sm, sv) = _stats(features[layer].detach(), dims, unbiased), _stats(style[layer], dims, unbiased)
        fs, ss = ((fv + EPS).sqrt(), (sv + EPS).sqrt()) if spread == "std" else (fv, sv)
        pick = {"mean": torch.mean, "sum": torch.sum}[reduce]
        out[layer] = pick((fm - sm) ** 2), pick((fs - ss) ** 2)
    return out


def _weighted(terms: Mapping[str, tuple[torch.Tensor, torch.Tensor]], use: str = "both",
              weights: Mapping[str, float] = WEIGHTS) -> torch.Tensor:
    parts = {"both": lambda m, s: m + s, "mean": lambda m, s: m, "spread": lambda m, s: s}[use]
    return sum(weights[layer] * parts(*terms[layer]) for layer in terms)


def _mistakes(features: Mapping[str, torch.Tensor], style: Mapping[str, torch.Tensor]) -> list[tuple[torch.Tensor, str]]:
    right = _terms(features, style)
    stats = "per image and channel over the positions, dim=(2, 3)"
    found = [
        (_weighted(_terms(features, style, spread="var")),
         "compared the variances, not the standard deviations: take the square root, (var + eps).sqrt()"),
        (_weighted(_terms(features, style, unbiased=True)),
         "used the sample std (divided by h*w - 1): AdaIN's statistics are the population std, "
         "unbiased=False (or correction=0)"),
        (_weighted(right, "mean"), "only compared the means: add the same term for the standard deviations"),
        (_weighted(right, "spread"), "only compared the standard deviations: add the same term for the means"),
        (_weighted(right, weights=dict.fromkeys(WEIGHTS, 1.0)),
         "ignored the weights: multiply each layer's term by weights[layer]"),
        (_weighted(right) / len(WEIGHTS), "divided by the number of layers: the loss is the weighted sum"),
        (_weighted(_terms(features, style, reduce="sum")),
         "summed the squared differences over the channels (and images): take their mean, like F.mse_loss"),
        (_weighted(_terms(features, style, dims=(1, 2, 3))), f"took the statistics over channels and positions: {stats}"),
        (_weighted(_terms(features, style, dims=(0, 2, 3))), f"took the statistics over the whole batch: {stats}"),
    ]
    for layer in WEIGHTS:
        for value in (WEIGHTS[layer] * sum(right[layer]), sum(right[layer])):
            found.append((value, f"only layer {layer!r} counts: add up the terms of all layers "
                                 "(loss = loss + ..., not loss = ...) and return after the loop"))
    return found


def _hint(error: Exception) -> str:
    if isinstance(error, KeyError):
        return ("loop over the layers of weights (or style_features): features also holds a content "
                "layer, 'relu4_2', that has no style")
    if isinstance(error, RuntimeError) and "size" in str(error):
        return ("compare statistics, not features: the style's features have other sizes; the statistics "
                "(N, C, 1, 1) do not depend on h and w")
    return ""


def check_mean_std_loss(fn: MeanStdLoss, show: bool = False) -> None:
    """fn(features {layer: (N, C, h, w)}, style_features {layer: (N, C, h', w')}, weights {layer: float})
    must return AdaIN's style loss, a scalar: how far each image's per-channel means and standard
    deviations (population std, an eps inside the square root is fine) are from the style's, as the
    mean squared difference of the means plus that of the stds, weighted and summed over the layers
    of `weights`. features may hold extra layers; the style's sizes differ from the image's.
    Gradients must reach the features. (show: nothing to draw.)"""
    name = function_name(fn, "mean_std_loss")
    features, style = _inputs()
    out = as_scalar(name, run_student(name, fn, features, {k: v.clone() for k, v in style.items()}, dict(WEIGHTS),
                                      hint=_hint), how="add up one number per layer")
    expected = mean_std_loss({k: v.detach() for k, v in features.items()}, style, WEIGHTS)
    if not torch.isfinite(out.detach()).all():
        fail(name, "returned NaN or inf: put a small eps inside the square root, (var + 1e-5).sqrt()")
    if not close(out, expected, rtol=2e-3):
        fail(name, known_mistake(out, _mistakes(features, style)) or
              f"returned {out.detach().item():.5g} on the check's input, expected {expected.item():.5g}: per layer, "
              "the mean squared difference of the channel means plus that of the channel stds, times its weight")
    require_gradient(name, out, {f"features[{layer!r}]": features[layer] for layer in WEIGHTS})
    print(f"✓ {name}: means and standard deviations per channel compared, weighted and summed over the layers")
