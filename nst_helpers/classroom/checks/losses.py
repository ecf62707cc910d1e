"""Checks for notebooks 03 and 05: the content, style and total variation losses."""
from __future__ import annotations

from typing import Callable, Mapping

import torch
import torch.nn.functional as F

from ...core.losses import gram_matrix
from .base import as_scalar, function_name, rand, randn, require_gradient, require_scalar_value, run_student

# ---------------------------------------------------------------------------- losses

def check_content_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], show: bool = False) -> None:
    """fn(features, target), both (N, C, h, w), must return their mean squared difference, a scalar
    tensor through which gradients flow back to `features`. (show: nothing to draw.)"""
    name = function_name(fn, "content_loss")
    features = randn(1, 8, 5, 6, seed=2).requires_grad_()
    target = randn(1, 8, 5, 6, seed=3)
    out = as_scalar(name, run_student(name, fn, features, target))
    d = features.detach() - target
    square_each = "square each difference, then take the mean: ((features - target) ** 2).mean()"
    mistakes = [
        (d.pow(2).sum(), "summed the squared differences instead of averaging them: use .mean(), so "
                         "that the loss does not grow with the size of the layer"),
        (d.pow(2).sum() / 2, "used the paper's 1/2 * sum of squared differences: this project uses the "
                             "mean, ((features - target) ** 2).mean(), without the 1/2"),
        (d.pow(2).mean() / 2, "halved the mean squared error: leave out the 1/2"),
        (d.pow(2).mean().sqrt(), "took the square root (root mean squared error): the content loss is "
                                 "the mean squared difference itself, without the square root"),
        (d.abs().mean(), f"used absolute differences: {square_each}"),
        (d.abs().sum(), f"summed absolute differences: {square_each}"),
        (d.mean().pow(2), f"squared the mean difference: {square_each}"),
    ]
    require_scalar_value(name, out, d.pow(2).mean(), mistakes, square_each)
    require_gradient(name, out, {"the features": features})
    print(f"✓ {name}: mean squared error, a scalar, and gradients reach the features")


STYLE_SHAPES = {"relu1_1": (3, 4, 5), "relu2_1": (5, 3, 4), "relu3_1": (8, 2, 3)}
STYLE_WEIGHTS = {"relu1_1": 0.25, "relu2_1": 1.0, "relu3_1": 3.0}


def _style_hint(error: Exception) -> str:
    if isinstance(error, KeyError):
        return ("loop over the layers of target_grams (or weights): features can hold more layers "
                "than the style ones, here the content layer 'relu4_2'")
    if isinstance(error, RuntimeError) and "size" in str(error):
        return ("compare gram_matrix(features[layer]), shape (N, C, C), with target_grams[layer]; "
                "the raw features (N, C, h, w) don't fit a Gram matrix")
    return ""


StyleLoss = Callable[[Mapping[str, torch.Tensor], Mapping[str, torch.Tensor], Mapping[str, float]], torch.Tensor]


def check_style_loss(fn: StyleLoss, show: bool = False) -> None:
    """fn(features {layer: (N, C, h, w)}, target_grams {layer: (N, C, C)}, weights {layer: float})
    must return sum over the layers of target_grams of
    weights[layer] * mean((gram_matrix(features[layer]) - target_grams[layer]) ** 2), a scalar.
    features may hold extra layers (here a content layer) that have no target. (show: nothing.)"""
    name = function_name(fn, "style_loss")
    features = {layer: randn(1, *shape, seed=10 + i).requires_grad_()
                for i, (layer, shape) in enumerate(STYLE_SHAPES.items())}
    features["relu4_2"] = randn(1, 6, 2, 2, seed=19)
    targets = {layer: gram_matrix(randn(1, *shape, seed=20 + i))
               for i, (layer, shape) in enumerate(STYLE_SHAPES.items())}
    out = as_scalar(name, run_student(name, fn, features, targets, dict(STYLE_WEIGHTS), hint=_style_hint),
                  how="add up one number per layer")

    def terms(gram_scale: Mapping[str, float] | None = None, reduce: str = "mean") -> dict[str, torch.Tensor]:
        """Each layer's unweighted term, optionally with Grams scaled by gram_scale[layer]."""
        scale = gram_scale or {}
        return {layer: F.mse_loss(gram_matrix(features[layer].detach()) * scale.get(layer, 1.0), targets[layer],
                                  reduction=reduce) for layer in targets}

    w, t, count = STYLE_WEIGHTS, terms(), len(STYLE_WEIGHTS)
    weighted = sum(w[layer] * t[layer] for layer in t)
    mistakes = [
        (sum(t.values()), "ignored the weights: multiply each layer's term by weights[layer] before adding"),
        (weighted / count, "divided by the number of layers: the style loss is the weighted sum of the "
                           "layers' terms, not their average"),
        (sum(t.values()) / count, "averaged the layers' terms and ignored the weights: multiply each term "
                                  "by weights[layer] and add them up"),
        (weighted / sum(w.values()), "divided by the sum of the weights: the style loss is the plain "
                                     "weighted sum"),
        (sum(w[layer] * v for layer, v in terms(reduce="sum").items()),
         "summed the squared differences of the Gram entries: take their mean (mean squared error)"),
    ]
    for layer in t:
        for value in (w[layer] * t[layer], t[layer]):
            mistakes.append((value, f"only layer {layer!r} counts: add up the terms of all layers "
                                    "(loss = loss + ..., not loss = ...) and return after the loop"))
    for what, scale in (("are not normalized", lambda c, h, w: c * h * w),
                        ("are divided by H*W only", lambda c, h, w: c),
                        ("are divided by C only", lambda c, h, w: h * w)):
        scaled = terms({layer: scale(*shape) for layer, shape in STYLE_SHAPES.items()})
        mistakes.append((sum(w[layer] * v for layer, v in scaled.items()),
                         f"the Gram matrices of the features {what}: divide by C*H*W like the target "
                         "Grams (use your checked gram_matrix)"))
    require_scalar_value(name, out, weighted, mistakes,
                        "sum over layers of weights[layer] * mean((gram - target) ** 2)")
    require_gradient(name, out, {f"features[{layer!r}]": features[layer] for layer in targets})
    print(f"✓ {name}: weighted sum over the layers of the Gram matrices' mean squared error")


def check_tv_loss(fn: Callable[[torch.Tensor], torch.Tensor], show: bool = False) -> None:
    """fn(image (N, 3, H, W)) must return mean |horizontal neighbour difference| +
    mean |vertical neighbour difference|, a scalar tensor. (show: nothing to draw.)"""
    name = function_name(fn, "tv_loss")
    columns = torch.arange(9.0) % 2  # vertical stripes: left-right differences are larger than up-down ones
    image = (0.3 * rand(1, 3, 4, 9, seed=4) + 0.5 * columns).requires_grad_()
    out = as_scalar(name, run_student(name, fn, image))
    x = image.detach()
    dx, dy = x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]
    wrapped = (x.roll(1, -1) - x).abs().mean() + (x.roll(1, -2) - x).abs().mean()
    slices = "dx = image[..., :, 1:] - image[..., :, :-1] and dy = image[..., 1:, :] - image[..., :-1, :]"
    mistakes = [
        (dx.abs().mean(), "only measured left-right differences: add the mean |difference| of vertical "
                          "neighbours, image[..., 1:, :] - image[..., :-1, :]"),
        (dy.abs().mean(), "only measured up-down differences: add the mean |difference| of horizontal "
                          "neighbours, image[..., :, 1:] - image[..., :, :-1]"),
        (dx.pow(2).mean() + dy.pow(2).mean(), "squared the differences: this project's TV loss is the L1 "
                                              "version, the mean of the absolute differences (.abs())"),
        (dx.abs().sum() + dy.abs().sum(), "summed instead of averaging: use .mean() for each direction, "
                                          "so that the loss does not grow with the image size"),
        (dx.pow(2).sum() + dy.pow(2).sum(), "squared and summed: take the mean of the absolute "
                                            "differences for each direction"),
        (wrapped, "compared the last column (row) with the first, as torch.roll does: take the "
                  f"differences by slicing, {slices}"),
        ((dx.abs().mean() + dy.abs().mean()) / 2, "averaged the two directions: add them, "
                                                  "mean |dx| + mean |dy|"),
        (torch.cat([dx.abs().flatten(), dy.abs().flatten()]).mean(),
         "took one mean over both directions together: take each direction's mean, then add the two"),
    ]
    require_scalar_value(name, out, dx.abs().mean() + dy.abs().mean(), mistakes,
                        f"mean |dx| + mean |dy| with {slices}")
    require_gradient(name, out, {"the image": image})
    print(f"✓ {name}: mean absolute difference of horizontal plus vertical neighbours")
