"""The check for notebook 06's second exercise: VGG19 built from scratch, from the raw weights.

The student's function turns nh.vgg19_state_dict() into a module (an nn.Sequential of named
Conv2d / ReLU / pooling layers, with the weights' own preprocessing first). The check runs it on
a small image (32 x 48) and records the output of every module named after a VGG19 layer
(nh.layer_names(), up to relu5_1). It walks them in order and redoes each layer on the student's
own input to it, so the first wrong layer is found and named, with what is wrong there
(preprocessing, padding, a missing ReLU, max pooling, another layer's weights, names off by one).
Needs the bundled VGG19 weights; takes a second or two.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ...core.vgg import CAFFE_MEAN_BGR, TORCHVISION_MEAN, TORCHVISION_STD, layer_names
from ...core.weights import vgg19_state_dict
from .base import fail, function_name, rand, run_probe, run_student

Build = Callable[[dict[str, torch.Tensor]], torch.nn.Module]
LAYERS = layer_names()[: layer_names().index("relu5_1") + 1]
MEAN = torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)


def _image() -> torch.Tensor:
    return rand(1, 3, 32, 48, seed=21)


def _forward_hint(error: Exception) -> str:
    if isinstance(error, RuntimeError) and ("Kernel size" in str(error) or "Output size is too small" in str(error)):
        return "the image shrinks layer by layer: give every 3x3 convolution padding=1"
    if isinstance(error, RuntimeError) and "channels" in str(error):
        return "a convolution got the wrong number of channels: check the layers' order and the weights you load"
    return ""


def vgg19_probe(fn: Build) -> dict:
    """Builds the student's network from the weights and records what each named layer put out."""
    name = function_name(fn, "build_vgg19")
    net = run_student(name, fn, vgg19_state_dict())
    if not isinstance(net, torch.nn.Module):
        return {"kind": "none" if net is None else type(net).__name__}
    found: dict[str, torch.Tensor] = {}
    order: list[str] = []

    def record(layer: str, module: Any, inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor) and layer not in found:
            found[layer] = output.detach().float().clone()
            order.append(layer)
    names = [full.rsplit(".", 1)[-1] for full, _ in net.named_modules() if full]
    hooks = [module.register_forward_hook(partial(record, full.rsplit(".", 1)[-1]))
             for full, module in net.named_modules() if full.rsplit(".", 1)[-1] in LAYERS]
    try:
        with torch.no_grad():
            run_student(name, net, _image(), hint=_forward_hint)
    finally:
        for hook in hooks:
            hook.remove()
    return {"kind": "module", "names": names, "activations": found, "order": order}


def _op(layer: str, x: torch.Tensor, state: dict[str, torch.Tensor]) -> torch.Tensor:
    """VGG19's layer `layer` (Gatys et al.'s variant: average pooling) applied to x."""
    if layer.startswith("conv"):
        return F.conv2d(x, state[f"{layer}.weight"], state[f"{layer}.bias"], padding=1)
    return x.relu() if layer.startswith("relu") else F.avg_pool2d(x, 2, 2)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and float((a - b).abs().max()) <= 1e-3 * float(b.abs().max()) + 1e-4


def _preprocessing_mistake(got: torch.Tensor, image: torch.Tensor, state: dict[str, torch.Tensor]) -> str | None:
    """What a conv1_1 output that does not fit the Caffe input says about the preprocessing."""
    tv_mean, tv_std = torch.tensor(TORCHVISION_MEAN).view(1, 3, 1, 1), torch.tensor(TORCHVISION_STD).view(1, 3, 1, 1)
    rgb = "kept RGB order: the weights expect BGR, so flip the channels, image.flip(1)"
    inputs = [
        (image * 255 - MEAN, rgb), (image * 255 - MEAN.flip(1), rgb),
        (image.flip(1) - MEAN, "did not scale to 0-255: multiply by 255 before subtracting the mean"),
        ((image.flip(1) - MEAN / 255) * 255, "did not scale to 0-255 before subtracting the mean"),
        (image.flip(1) * 255, "did not subtract the mean (103.939, 116.779, 123.68) from B, G, R"),
        ((image - tv_mean) / tv_std, "used torchvision's normalization: these are the original Caffe weights, "
                                     "which want BGR, 0-255, minus the mean (103.939, 116.779, 123.68)"),
        (image, "no preprocessing: the network gets RGB in [0, 1]; make its first module turn that into BGR, "
                "0-255, minus the mean (103.939, 116.779, 123.68)"),
    ]
    return next((f"wrong preprocessing, conv1_1 sees the wrong input: {why}" for x, why in inputs
                 if _same(got, _op("conv1_1", x, state))), None)


def _diagnose(layer: str, got: torch.Tensor, given: torch.Tensor, state: dict[str, torch.Tensor],
              reference: dict[str, torch.Tensor]) -> str:
    """Why the module named `layer` did not compute VGG19's layer from `given`, its input."""
    expected = _op(layer, given, state)
    before = LAYERS[LAYERS.index(layer) - 1] if layer != LAYERS[0] else "the preprocessed image"
    if layer.startswith("conv") and got.shape[-2:] == tuple(s - 2 for s in expected.shape[-2:]):
        return f"{layer} shrinks the image by 2 pixels: use padding=1, so that each 3x3 convolution keeps the size"
    if _same(got, given):
        if layer.startswith("relu"):
            return f"no ReLU: {layer} is {before}'s output unchanged; put nn.ReLU() after every convolution"
        return (f"the module named {layer!r} puts out its input unchanged ({before}): your layer names are off by one "
                "there; name the modules in the order of nh.layer_names()")
    if layer.startswith("pool") and _same(got, F.max_pool2d(given, 2, 2)):
        return f"{layer} is max pooling: Gatys et al. use average pooling, nn.AvgPool2d(2, 2)"
    if layer.startswith("conv"):
        if _same(got, F.conv2d(given, state[f"{layer}.weight"], padding=1)):
            return f"{layer} has no bias: copy state_dict['{layer}.bias'] into it too"
        for other in (name for name in LAYERS if name.startswith("conv") and name != layer):
            weight = state[f"{other}.weight"]
            if weight.shape == state[f"{layer}.weight"].shape and _same(got, F.conv2d(given, weight, padding=1)
                                                                       + state[f"{other}.bias"].view(1, -1, 1, 1)):
                return f"{layer} has the weights of {other}: load state_dict['{layer}.weight'] and '{layer}.bias'"
    others = [name for name, value in reference.items() if name != layer and _same(got, value)]
    if others:
        return (f"the module named {layer!r} puts out VGG19's {others[0]!r}: your layer names are off by one there; "
                "name the modules in the order of nh.layer_names()")
    if got.shape != expected.shape:
        return (f"{layer} puts out shape {tuple(got.shape)}, expected {tuple(expected.shape)} from {before}: "
                + ("a 2x2 pooling with stride 2" if layer.startswith("pool") else
                   f"a 3x3 convolution with {layer}'s weights" if layer.startswith("conv") else "a ReLU"))
    kind = ("a 3x3 convolution (padding 1) with state_dict's weight and bias" if layer.startswith("conv")
            else "a ReLU" if layer.startswith("relu") else "a 2x2 average pooling, stride 2")
    return f"{layer} is not {kind} applied to {before}"


def _missing(names: list[str], found: dict[str, torch.Tensor]) -> str | None:
    missing = [layer for layer in LAYERS if layer not in found]
    if not missing:
        return None
    if names and all(n.isdigit() for n in names):
        return ("its modules are numbered 0, 1, 2, ...: name them after VGG19's layers (nh.layer_names(): conv1_1, "
                "relu1_1, ...), e.g. nn.Sequential(OrderedDict(...)) or net.add_module('conv1_1', conv)")
    if all(layer in missing for layer in LAYERS if layer.startswith("relu")):
        return ("no module is named relu1_1, relu1_2, ...: VGG19 has a ReLU after every convolution; add an "
                "nn.ReLU() after each, named after its layer (nh.layer_names())")
    if all(layer in missing for layer in LAYERS if layer.startswith("pool")):
        return ("no module is named pool1, ..., pool4: after conv1_2, conv2_2, conv3_4 and conv4_4 comes a 2x2 "
                "pooling, named pool1 to pool4 (nh.layer_names())")
    return (f"no module named {missing[0]!r} put out anything: every layer up to relu5_1 needs its own module, "
            "named after it (nh.layer_names()) and used in the forward pass")


def check_vgg19_from_scratch(fn: Build, show: bool = False) -> None:
    """fn(state_dict) must return VGG19's convolutional part as a torch module, built from Conv2d, ReLU
    and pooling layers with the weights in state_dict (nh.vgg19_state_dict(): keys "conv1_1.weight",
    "conv1_1.bias", ...). net(image) takes an RGB image (1, 3, H, W) in [0, 1]: do the weights' own
    preprocessing inside it, first. Name every module after its layer, as nh.layer_names() does
    (conv1_1, relu1_1, ..., pool1, ...), so that each layer's output can be read; use average
    pooling, as Gatys et al. do. The check compares every layer up to relu5_1 on a 32 x 48 image
    with VGG19 itself. (show: nothing to draw.)"""
    name = function_name(fn, "build_vgg19")
    data = run_probe(vgg19_probe, fn)
    if data["kind"] != "module":
        fail(name, "returned None: did you forget `return net`?" if data["kind"] == "none" else
              f"returned a {data['kind']}, expected a torch module such as nn.Sequential")
    found = data["activations"]
    missing = _missing(data["names"], found)
    if missing:
        fail(name, missing)
    ran = [layer for layer in data["order"] if layer in LAYERS]
    wrong = next((i for i, (a, b) in enumerate(zip(ran, LAYERS)) if a != b), None)
    if wrong is not None:
        after = f"after {ran[wrong - 1]}" if wrong else "first"
        fail(name, f"the layers run in the wrong order: {ran[wrong]} runs {after}, where {LAYERS[wrong]} belongs; "
                    "order them as nh.layer_names()")
    state = vgg19_state_dict()
    image = _image()
    given = image.flip(1) * 255 - MEAN
    reference: dict[str, torch.Tensor] = {}
    x = given
    with torch.no_grad():
        for layer in LAYERS:
            x = reference[layer] = _op(layer, x, state)
        for layer in LAYERS:
            got = found[layer]
            if not _same(got, _op(layer, given, state)):
                preprocessing = _preprocessing_mistake(got, image, state) if layer == LAYERS[0] else None
                fail(name, preprocessing or _diagnose(layer, got, given, state, reference))
            given = got
    print(f"✓ {name}: every layer up to relu5_1 matches VGG19 (average pooling), preprocessing included")
