"""Check for notebook 02: the channel objective of feature visualization."""
from __future__ import annotations

from typing import Callable, Mapping

import torch

from .base import as_scalar, function_name, randn, require_gradient, require_scalar_value, run_student

# ---------------------------------------------------------------------------- feature visualization

def check_channel_objective(fn: Callable[[Mapping[str, torch.Tensor], str, int], torch.Tensor],
                            show: bool = False) -> None:
    """fn(features {layer: (N, C, h, w)}, layer, channel) must return a scalar to minimize whose
    minimum maximizes the channel's mean activation: -features[layer][:, channel].mean(). (show: nothing.)"""
    name = function_name(fn, "channel_objective")
    features = {"relu1_1": randn(3, 5, 4, 6, seed=7).relu().requires_grad_(),
                "relu2_1": randn(3, 7, 2, 3, seed=8).relu().requires_grad_()}
    layer, channel, other = "relu2_1", 1, "relu1_1"
    out = as_scalar(name, run_student(name, fn, features, layer, channel))
    act = features[layer].detach()
    batch_axis = ("indexed the batch axis: features[layer] has shape (N, C, h, w), so the channel is the "
                  "second index, features[layer][:, channel]")
    plus = ("returned plus the mean activation: the loop minimizes, so return minus it, "
            "-features[layer][:, channel].mean()")
    mistakes = [
        (act[:, channel].mean(), plus),
        (-act[channel].mean(), batch_axis),
        (act[channel].mean(), batch_axis + ", and return minus the mean"),
        (-act.mean(), "averaged the whole layer: use only the one channel, features[layer][:, channel]"),
        (act.mean(), "averaged the whole layer, with a plus sign: return -features[layer][:, channel].mean()"),
        (-act[:, channel].sum(), "summed the activations: use the mean, so that the value does not depend "
                                 "on the image size"),
        (act[:, channel].sum(), "summed with a plus sign: return -features[layer][:, channel].mean(); the mean "
                                "does not depend on the image size, and the loop minimizes"),
        (-act[0, channel].mean(), "used only the first image of the batch: average over all of them, "
                                  "-features[layer][:, channel].mean()"),
        (-features[other].detach()[:, channel].mean(), f"used layer {other!r}: use the `layer` argument"),
        (-act[:, channel].pow(2).mean(), "squared the activations: return minus the plain mean, "
                                         "-features[layer][:, channel].mean()"),
    ]
    require_scalar_value(name, out, -act[:, channel].mean(), mistakes,
                        "return -features[layer][:, channel].mean()")
    require_gradient(name, out, {f"features[{layer!r}]": features[layer]})
    print(f"✓ {name}: minus the channel's mean activation, and gradients reach the features")
