"""Check for notebook 02: the original VGG19's input preprocessing."""
from __future__ import annotations

from typing import Callable

import torch

from ...core.vgg import CAFFE_MEAN_BGR, TORCHVISION_MEAN, TORCHVISION_STD
from .base import as_tensor, close, fail, function_name, known_mistake, rand, require_gradient, run_student

# ---------------------------------------------------------------------------- VGG input

def _preprocess_hint(error: Exception) -> str:
    if isinstance(error, RuntimeError) and "size" in str(error):
        return "shape the mean as (1, 3, 1, 1), e.g. torch.tensor([...]).view(1, 3, 1, 1), so it lines up with the channels"
    return ""


def check_preprocess(fn: Callable[[torch.Tensor], torch.Tensor], show: bool = False) -> None:
    """fn(image RGB in [0, 1], (N, 3, H, W)) must return the original (Caffe) VGG19's input, same shape:
    BGR channel order, 0-255, minus the BGR mean (103.939, 116.779, 123.68). (show: nothing.)"""
    name = function_name(fn, "preprocess")
    image = rand(2, 3, 4, 5, seed=5).requires_grad_()
    out = as_tensor(name, run_student(name, fn, image, hint=_preprocess_hint))
    if out.shape != image.shape:
        fail(name, f"returned shape {tuple(out.shape)}, expected the input's shape {tuple(image.shape)}")
    x = image.detach()
    bgr = torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    rgb = bgr.flip(1)
    keep_rgb = "kept the RGB channel order: the Caffe weights expect BGR, so reverse the channels, image.flip(1)"
    torchvision = ("used torchvision's normalization (mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225): "
                   "the original VGG19 wants BGR, 0-255, minus the mean (103.939, 116.779, 123.68), no std")
    tv_mean = torch.tensor(TORCHVISION_MEAN).view(1, 3, 1, 1)
    tv_std = torch.tensor(TORCHVISION_STD).view(1, 3, 1, 1)
    mistakes = [
        (x * 255 - bgr, keep_rgb),
        (x * 255 - rgb, keep_rgb),
        (x.flip(1) * 255 - rgb, "subtracted the means from the wrong channels: after the flip channel 0 is "
                                "blue, so subtract (103.939, 116.779, 123.68) in that order"),
        (x.flip(1) - bgr, "did not scale to 0-255: multiply by 255 before subtracting the mean"),
        ((x.flip(1) - bgr) * 255, "subtracted the mean before scaling: the means are in 0-255 units, "
                                  "so multiply by 255 first"),
        (x.flip(1) * 255, "did not subtract the mean: subtract (103.939, 116.779, 123.68) from B, G, R"),
        (x * 255, "kept RGB and did not subtract the mean: flip to BGR, scale to 0-255, subtract the BGR mean"),
        ((x - tv_mean) / tv_std, torchvision),
        ((x.flip(1) - tv_mean.flip(1)) / tv_std.flip(1), torchvision),
        ((x - tv_mean) / tv_std * 255, torchvision),
    ]
    for dim in (0, 2, 3):
        mistakes.append((x.flip(dim) * 255 - bgr, f"flipped axis {dim}, not the channels: in (N, 3, H, W) "
                                                  "the channels are axis 1, image.flip(1)"))
    if not close(out, x.flip(1) * 255 - bgr, atol=1e-3):
        fail(name, known_mistake(out, mistakes) or "wrong values: flip RGB to BGR, multiply by 255, "
                                                     "then subtract (103.939, 116.779, 123.68)")
    require_gradient(name, out, {"the image": image})
    print(f"✓ {name}: BGR order, 0-255, Caffe mean removed, and gradients reach the image")
