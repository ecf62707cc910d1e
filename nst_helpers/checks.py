"""Checks for the functions students write in the notebooks.

Each check runs the student's function on small fixed inputs, compares the result with this
package's own implementation and, when they differ, raises AssertionError with a one- or
two-sentence explanation of what is wrong (for known mistakes, which one). On success it prints
one line starting with "✓". Every check takes well under a second and needs no VGG weights.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, NoReturn, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .colour import preserve_colour
from .losses import gram_matrix
from .vgg import CAFFE_MEAN_BGR, TORCHVISION_MEAN, TORCHVISION_STD

NOT_IMPLEMENTED = "not implemented yet: replace the `raise NotImplementedError` with your code"
#: preserve_colour results may differ this much (mean absolute difference, 0-1 scale) from ours,
#: so that any standard luminance (YCbCr, YUV, YIQ, BT.709, CIELAB; 8-bit or float) passes.
COLOUR_TOLERANCE = 0.03

Mistakes = Sequence[tuple[Any, str]]  # (what a known mistake would return, what to tell the student)


class _Mistake(Exception):
    """Raised by our own probes (e.g. a forbidden optimizer.step) with a message for the student."""


# ---------------------------------------------------------------------------- helpers

def _name(fn: Callable, default: str) -> str:
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() else default


def _run(name: str, fn: Callable, *args: Any, hint: Callable[[Exception], str] | None = None) -> Any:
    """fn(*args), with any exception turned into a one-line AssertionError."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise AssertionError(f"{name}: {NOT_IMPLEMENTED}") from None
    except _Mistake as mistake:
        raise AssertionError(f"{name}: {mistake}") from None
    except Exception as error:
        lines = str(error).strip().splitlines()
        message = f"{name} raised {type(error).__name__}" + (f": {lines[0]}" if lines else "")
        extra = hint(error) if hint is not None else ""
        if isinstance(error, RuntimeError) and "device" in str(error):
            extra = "make new tensors on the input's device, e.g. torch.tensor(..., device=image.device)"
        raise AssertionError(message + (f" ({extra})" if extra else "")) from None


def _fail(name: str, message: str) -> NoReturn:
    raise AssertionError(f"{name}: {message}")


def _tensor(name: str, out: Any) -> torch.Tensor:
    """The student's result as a tensor, or a failure that says what it was instead."""
    if isinstance(out, torch.Tensor):
        return out
    if out is None:
        _fail(name, "returned None: did you forget the `return`?")
    if isinstance(out, (int, float)):
        _fail(name, "returned a plain Python number, not a tensor: drop the .item() or float(...) "
                    "so that gradients can flow back through the result")
    if isinstance(out, np.ndarray):
        _fail(name, "returned a NumPy array: use torch operations so the result stays a tensor")
    if isinstance(out, Image.Image):
        _fail(name, "returned a PIL image: turn it back into a (1, 3, H, W) tensor, e.g. with "
                    "nh.load_image(pil_image)")
    _fail(name, f"returned a {type(out).__name__}, expected a torch tensor")


def _scalar(name: str, out: Any, how: str = "average with .mean()") -> torch.Tensor:
    out = _tensor(name, out)
    if out.numel() != 1:
        _fail(name, f"returned a tensor of shape {tuple(out.shape)}, expected a single number "
                    f"(a scalar tensor): {how}")
    return out.reshape(())


def _close(a: Any, b: Any, rtol: float = 1e-3, atol: float = 1e-7) -> bool:
    a, b = torch.as_tensor(a).detach().double().cpu(), torch.as_tensor(b).detach().double().cpu()
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=atol))


def _known_mistake(out: torch.Tensor, mistakes: Mistakes) -> str | None:
    return next((message for value, message in mistakes if _close(out, value)), None)


def _check_scalar_value(name: str, out: torch.Tensor, expected: torch.Tensor, mistakes: Mistakes,
                        what: str) -> None:
    if _close(out, expected):
        return
    _fail(name, _known_mistake(out, mistakes) or
          f"returned {out.detach().item():.5g} on the check's input, expected {expected.item():.5g}: {what}")


def _check_gradient(name: str, out: torch.Tensor, inputs: Mapping[str, torch.Tensor]) -> None:
    """Gradients of out must reach every input (inputs: {label for the message: tensor})."""
    cut = ("Don't use .detach(), .item(), .numpy(), torch.tensor(...) or torch.no_grad() on the "
           "way: the optimizer needs the gradient")
    if not out.requires_grad:
        _fail(name, f"the result is cut off from its input (it has no grad_fn). {cut}")
    grads = torch.autograd.grad(out.sum(), list(inputs.values()), allow_unused=True)
    for label, grad in zip(inputs, grads):
        if grad is None or not bool(grad.abs().sum() > 0):
            _fail(name, f"no gradient flows back to {label}. {cut}")


def _randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _rand(*shape: int, seed: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------- Gram matrix

def _gram_shape(name: str, out: torch.Tensor, shape: torch.Size) -> None:
    n, c, h, w = shape
    if out.shape == (n, c, c):
        return
    if out.shape[-2:] == (h * w, h * w):
        _fail(name, f"multiplied the wrong way round: shape {tuple(out.shape)} is positions x positions "
                    "(H*W x H*W); the Gram matrix is channels x channels, flat @ flat.transpose(1, 2) "
                    "with flat of shape (N, C, H*W)")
    if out.shape == (c, c):
        _fail(name, f"returned shape {tuple(out.shape)} for features of shape {tuple(shape)}: keep the "
                    f"batch axis, expected (N, C, C) = {(n, c, c)}; reshape to (N, C, H*W) and use "
                    "flat @ flat.transpose(1, 2)")
    _fail(name, f"returned shape {tuple(out.shape)} for features of shape {tuple(shape)}, "
                f"expected (N, C, C) = {(n, c, c)}")


def _gram_values(name: str, out: torch.Tensor, expected: torch.Tensor, shape: torch.Size) -> None:
    n, c, h, w = shape
    if _close(out, expected):
        return
    out, expected = out.detach().double().cpu(), expected.double()
    factor = float((out * expected).sum() / (expected * expected).sum())  # out ~ factor * expected
    divide = f"divide by C*H*W (here {c}*{h}*{w} = {c * h * w}), so that the values do not depend on the layer's size"
    normalized = {
        c * h * w: f"the result is not normalized: {divide}",
        c: f"the result is divided by H*W only: {divide}",
        h * w: f"the result is divided by C only: {divide}",
        h * w / c: f"the result is divided by C*C: {divide}",
        1 / n: "the result is divided by N*C*H*W, the batch size too: divide each image's products by its own C*H*W",
    }
    for scale, message in normalized.items():
        if scale != 1 and _close(out, scale * expected):
            _fail(name, message)
    if _close(out, factor * expected):
        _fail(name, f"your values are {factor:.4g} times the expected ones: divide the products by "
                    f"C*H*W (here {c * h * w}) and nothing else")
    if n > 1:
        _fail(name, "right for one image but wrong for a batch of two: compute each image's Gram "
                    "matrix from its own features (flat @ flat.transpose(1, 2) with flat (N, C, H*W))")
    _fail(name, f"wrong values (largest difference {float((out - expected).abs().max()):.3g}): entry "
                "(i, j) is the sum over all positions of channel i times channel j, divided by C*H*W")


def check_gram(fn: Callable[[torch.Tensor], torch.Tensor], show: bool = False) -> None:
    """fn(features (N, C, H, W)) must return the Gram matrices (N, C, C), divided by C*H*W.

    show: draw the Gram matrix your function computed as a heatmap.
    """
    name = _name(fn, "gram_matrix")
    features = _randn(1, 4, 6, 5, seed=0).requires_grad_()
    out = _tensor(name, _run(name, fn, features))
    _gram_shape(name, out, features.shape)
    _gram_values(name, out, gram_matrix(features.detach()), features.shape)
    _check_gradient(name, out, {"the features": features})
    single = out.detach()

    batch = _randn(2, 4, 6, 5, seed=1)
    out = _tensor(name, _run(name, fn, batch, hint=lambda e: "it works for one image but not for a "
                                                          "batch of two: reshape with N from features.shape"))
    _gram_shape(name, out, batch.shape)
    _gram_values(name, out, gram_matrix(batch), batch.shape)
    print(f"✓ {name}: shape (N, C, C), values, normalization, batches and gradients are right")
    if show:
        from .plots import gram_heatmap
        gram_heatmap(single[0], title=f"{name} of random 4-channel features")


# ---------------------------------------------------------------------------- losses

def check_content_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], show: bool = False) -> None:
    """fn(features, target), both (N, C, h, w), must return their mean squared difference, a scalar
    tensor through which gradients flow back to `features`. (show: nothing to draw.)"""
    name = _name(fn, "content_loss")
    features = _randn(1, 8, 5, 6, seed=2).requires_grad_()
    target = _randn(1, 8, 5, 6, seed=3)
    out = _scalar(name, _run(name, fn, features, target))
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
    _check_scalar_value(name, out, d.pow(2).mean(), mistakes, square_each)
    _check_gradient(name, out, {"the features": features})
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
    name = _name(fn, "style_loss")
    features = {layer: _randn(1, *shape, seed=10 + i).requires_grad_()
                for i, (layer, shape) in enumerate(STYLE_SHAPES.items())}
    features["relu4_2"] = _randn(1, 6, 2, 2, seed=19)
    targets = {layer: gram_matrix(_randn(1, *shape, seed=20 + i))
               for i, (layer, shape) in enumerate(STYLE_SHAPES.items())}
    out = _scalar(name, _run(name, fn, features, targets, dict(STYLE_WEIGHTS), hint=_style_hint),
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
    _check_scalar_value(name, out, weighted, mistakes,
                        "sum over layers of weights[layer] * mean((gram - target) ** 2)")
    _check_gradient(name, out, {f"features[{layer!r}]": features[layer] for layer in targets})
    print(f"✓ {name}: weighted sum over the layers of the Gram matrices' mean squared error")


def check_tv_loss(fn: Callable[[torch.Tensor], torch.Tensor], show: bool = False) -> None:
    """fn(image (N, 3, H, W)) must return mean |horizontal neighbour difference| +
    mean |vertical neighbour difference|, a scalar tensor. (show: nothing to draw.)"""
    name = _name(fn, "tv_loss")
    columns = torch.arange(9.0) % 2  # vertical stripes: left-right differences are larger than up-down ones
    image = (0.3 * _rand(1, 3, 4, 9, seed=4) + 0.5 * columns).requires_grad_()
    out = _scalar(name, _run(name, fn, image))
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
    _check_scalar_value(name, out, dx.abs().mean() + dy.abs().mean(), mistakes,
                        f"mean |dx| + mean |dy| with {slices}")
    _check_gradient(name, out, {"the image": image})
    print(f"✓ {name}: mean absolute difference of horizontal plus vertical neighbours")


# ---------------------------------------------------------------------------- VGG input

def _preprocess_hint(error: Exception) -> str:
    if isinstance(error, RuntimeError) and "size" in str(error):
        return "shape the mean as (1, 3, 1, 1), e.g. torch.tensor([...]).view(1, 3, 1, 1), so it lines up with the channels"
    return ""


def check_preprocess(fn: Callable[[torch.Tensor], torch.Tensor], show: bool = False) -> None:
    """fn(image RGB in [0, 1], (N, 3, H, W)) must return the original (Caffe) VGG19's input, same shape:
    BGR channel order, 0-255, minus the BGR mean (103.939, 116.779, 123.68). (show: nothing.)"""
    name = _name(fn, "preprocess")
    image = _rand(2, 3, 4, 5, seed=5).requires_grad_()
    out = _tensor(name, _run(name, fn, image, hint=_preprocess_hint))
    if out.shape != image.shape:
        _fail(name, f"returned shape {tuple(out.shape)}, expected the input's shape {tuple(image.shape)}")
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
    if not _close(out, x.flip(1) * 255 - bgr, atol=1e-3):
        _fail(name, _known_mistake(out, mistakes) or "wrong values: flip RGB to BGR, multiply by 255, "
                                                     "then subtract (103.939, 116.779, 123.68)")
    _check_gradient(name, out, {"the image": image})
    print(f"✓ {name}: BGR order, 0-255, Caffe mean removed, and gradients reach the image")


# ---------------------------------------------------------------------------- optimization

def _quadratic() -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """A start image and an ill-conditioned quadratic objective, for 20 L-BFGS steps."""
    target = _rand(1, 3, 4, 4, seed=6)
    scale = torch.logspace(-1, 1, 48).view(1, 3, 4, 4)

    def objective(image: torch.Tensor) -> torch.Tensor:
        return (scale * (image - target) ** 2).sum()
    return torch.full_like(target, 0.5), objective


def _reference_closure(optimizer: torch.optim.Optimizer, image: torch.Tensor,
                       objective: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[], torch.Tensor]:
    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = objective(image)
        loss.backward()
        return loss
    return closure


def _lbfgs_losses(make_closure: Callable, name: str, steps: int = 20) -> list[float]:
    start, objective = _quadratic()
    image = start.clone().requires_grad_()
    optimizer = torch.optim.LBFGS([image], lr=1.0, max_iter=1)
    closure = _run(name, make_closure, optimizer, image, objective)
    losses = []
    for _ in range(steps):
        _run(name, optimizer.step, closure)
        losses.append(objective(image.detach()).item())
    return losses


def _as_float(value: Any) -> float | None:
    try:
        return float(value.detach() if isinstance(value, torch.Tensor) else value)
    except (TypeError, ValueError, RuntimeError):
        return None


def _probe_closure(name: str, closure: Callable, optimizer: torch.optim.Optimizer, image: torch.Tensor,
                   loss: torch.Tensor, grad: torch.Tensor, call: str) -> None:
    """Call closure() directly, as L-BFGS would, and check its return value and image.grad."""
    def forbidden_step(*args: Any, **kwargs: Any) -> None:
        raise _Mistake("called optimizer.step inside the closure: the closure only computes the loss and "
                       "its gradient; optimizer.step(closure) is what calls it")
    backward_passes = []
    hook = image.register_hook(lambda g: backward_passes.append(1))
    optimizer.step = forbidden_step  # type: ignore[method-assign]
    try:
        value = _run(name, closure)
    finally:
        del optimizer.step
        hook.remove()
    if value is None:
        _fail(name, "the closure returned None: return the loss, L-BFGS needs its value")
    number = _as_float(value)
    if number is None:
        _fail(name, f"the closure returned a {type(value).__name__}: return the loss, a scalar tensor")
    value = number
    if not math.isclose(value, loss.item(), rel_tol=1e-4):
        _fail(name, f"the closure returned {value:.5g}, but objective(image) is {loss.item():.5g}: "
                    "return the loss you called backward() on")
    if not backward_passes:
        _fail(name, f"no gradient reached the image in the {call} call of the closure: call "
                    "loss.backward() on loss = objective(image), so that L-BFGS gets the gradient")
    if len(backward_passes) > 1:
        _fail(name, "the closure called backward() more than once: call it once per closure call")
    if image.grad is None or not bool(image.grad.abs().sum() > 0):
        _fail(name, "image.grad is empty after the closure: zero the gradients first, then compute the "
                    "loss and call backward(), not the other way round")
    if _close(image.grad, 2 * grad):
        _fail(name, "the gradients were not zeroed: backward() adds to image.grad, so the previous "
                    "call's gradient is still in it; call optimizer.zero_grad() first")
    if not _close(image.grad, grad):
        _fail(name, "image.grad after the closure is not the gradient of objective(image): zero the "
                    "gradients, compute loss = objective(image), call loss.backward() once")


def check_lbfgs_closure(make_closure: Callable, show: bool = False) -> None:
    """make_closure(optimizer, image, objective) must return a closure (a function of no arguments)
    that zeroes the gradients, computes loss = objective(image), calls loss.backward() and returns
    the loss. objective(image) -> scalar loss tensor; image is the tensor being optimized.
    Returning loss.item() also passes: L-BFGS only calls float() on the value.
    show: plot the loss over 20 L-BFGS steps with your closure and with ours.
    """
    name = _name(make_closure, "make_closure")
    start, objective = _quadratic()
    image = start.clone().requires_grad_()
    optimizer = torch.optim.LBFGS([image], lr=1.0, max_iter=1)
    closure = _run(name, make_closure, optimizer, image, objective)
    if closure is None:
        _fail(name, "returned None: return the closure function itself, `return closure`")
    if isinstance(closure, (torch.Tensor, int, float)):
        _fail(name, "returned the loss, not a function: return `closure` itself, without calling it "
                    "(no parentheses); optimizer.step calls it")
    if not callable(closure):
        _fail(name, f"returned {type(closure).__name__}, expected the closure function")
    reference = image.detach().clone().requires_grad_()
    loss = objective(reference)
    grad, = torch.autograd.grad(loss, reference)
    _probe_closure(name, closure, optimizer, image, loss, grad, "first")
    _probe_closure(name, closure, optimizer, image, loss, grad, "second")

    ours, theirs = _lbfgs_losses(_reference_closure, "reference"), _lbfgs_losses(make_closure, name)
    if not _close(theirs[-1], ours[-1], rtol=1e-3, atol=1e-6):
        _fail(name, f"after 20 L-BFGS steps the loss is {theirs[-1]:.4g} with your closure and {ours[-1]:.4g} "
                    "with ours: zero the gradients, loss = objective(image), loss.backward(), return loss")
    print(f"✓ {name}: zeroes the gradients, computes the loss, calls backward and returns the loss")
    if show:
        from .plots import plot_losses
        plot_losses({"your closure": theirs, "reference": ours}, title="L-BFGS on a small quadratic")


# ---------------------------------------------------------------------------- feature visualization

def check_channel_objective(fn: Callable[[Mapping[str, torch.Tensor], str, int], torch.Tensor],
                            show: bool = False) -> None:
    """fn(features {layer: (N, C, h, w)}, layer, channel) must return a scalar to minimize whose
    minimum maximizes the channel's mean activation: -features[layer][:, channel].mean(). (show: nothing.)"""
    name = _name(fn, "channel_objective")
    features = {"relu1_1": _randn(3, 5, 4, 6, seed=7).relu().requires_grad_(),
                "relu2_1": _randn(3, 7, 2, 3, seed=8).relu().requires_grad_()}
    layer, channel, other = "relu2_1", 1, "relu1_1"
    out = _scalar(name, _run(name, fn, features, layer, channel))
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
    _check_scalar_value(name, out, -act[:, channel].mean(), mistakes,
                        "return -features[layer][:, channel].mean()")
    _check_gradient(name, out, {f"features[{layer!r}]": features[layer]})
    print(f"✓ {name}: minus the channel's mean activation, and gradients reach the features")


# ---------------------------------------------------------------------------- colour

def _colour_test_images() -> tuple[torch.Tensor, torch.Tensor]:
    """A content image (teal to tan) and a blue, striped stylized one, each (1, 3, 24, 32).

    Chosen so that luminance from YCbCr, YUV, YIQ, BT.709 or CIELAB all land within 0.015 of our
    result, the plain RGB average about 0.1 away, and YCbCr without clamping leaves [0, 1].
    """
    ys, xs = torch.meshgrid(torch.linspace(0, 1, 24), torch.linspace(0, 1, 32), indexing="ij")
    content = torch.stack([0.3 + 0.3 * xs + 0.2 * ys, 0.6 - 0.2 * xs + 0.1 * ys, 0.6 - 0.5 * xs]).unsqueeze(0)
    stripes = 0.5 + 0.4 * torch.sin(xs * 12 + ys * 5) + 0.08 * _randn(1, 1, 24, 32, seed=9)
    return content, (stripes * torch.tensor([0.4, 0.4, 0.95]).view(1, 3, 1, 1)).clamp(0, 1)


def _mad(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.detach().float().cpu() - b).abs().mean())


def check_preserve_colour(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], show: bool = False) -> None:
    """fn(stylized, content), both (1, 3, H, W) RGB in [0, 1], must return (1, 3, H, W) in [0, 1]:
    the stylized image's luminance with the content's colours (Y from stylized, Cb and Cr from
    content). Any standard luminance (YCbCr, YUV, YIQ, BT.709, CIELAB lightness) passes.
    show: draw content, stylized and your result side by side."""
    name = _name(fn, "preserve_colour")
    content, stylized = _colour_test_images()
    out = _tensor(name, _run(name, fn, stylized.clone(), content.clone()))
    if out.shape != stylized.shape:
        _fail(name, f"returned shape {tuple(out.shape)}, expected the input's shape {tuple(stylized.shape)}")
    if not out.is_floating_point():
        _fail(name, f"returned a {out.dtype} tensor: return floats in [0, 1] (divide 0-255 values by 255)")
    low, high = float(out.min()), float(out.max())
    if high > 2:
        _fail(name, f"values run up to {high:.4g}: that looks like 0-255, divide by 255 to get [0, 1]")
    if low < -1e-3 or high > 1 + 1e-3:
        _fail(name, f"values run from {low:.3g} to {high:.3g}, outside [0, 1]: clamp the result, "
                    ".clamp(0, 1); recombining luminance and colour can leave the RGB range")
    expected = preserve_colour(stylized, content)
    off = _mad(out, expected)
    if off > COLOUR_TOLERANCE:
        grey = stylized.mean(1, keepdim=True) - content.mean(1, keepdim=True)
        mistakes = [
            (stylized, "returned the stylized image unchanged: keep its luminance (Y) but take the colour "
                       "(Cb, Cr) from the content"),
            (content, "returned the content image: the result should have the stylized image's luminance "
                      "(its light and dark pattern) and only the content's colours"),
            (preserve_colour(content, stylized), "swapped the roles: you kept the content's luminance and "
                                                 "the stylized colours; take Y from stylized, Cb and Cr from content"),
            ((content + grey).clamp(0, 1), "used the plain average of R, G and B as brightness: luminance "
                                           "weighs them as Y = 0.299 R + 0.587 G + 0.114 B (YCbCr)"),
        ]
        known = [message for value, message in mistakes if _mad(out, value) < COLOUR_TOLERANCE]
        _fail(name, known[0] if known else
              f"differs from luminance-only transfer by {off:.3f} on average (tolerance {COLOUR_TOLERANCE}): "
              "take Y from stylized and Cb, Cr from content, e.g. with PIL's .convert('YCbCr')")
    print(f"✓ {name}: the stylized image's luminance with the content's colours")
    if show:
        from .plots import show_images
        show_images({"content": content, "stylized": stylized, "your result": out.detach().float().cpu()})


# ---------------------------------------------------------------------------- masked Gram matrix

def check_masked_gram(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], show: bool = False) -> None:
    """fn(features (1, C, h, w), mask (1, 1, H, W) in [0, 1]) must return the Gram matrix (1, C, C)
    of the masked features only: mask resized to h x w, features times mask, products divided by
    C times the mask's area at h x w. (show: draw the mask and the two halves' Gram matrices.)"""
    name = _name(fn, "masked_gram_matrix")
    c, h, w = 4, 6, 8
    left = _randn(1, c, h, w // 2, seed=10)
    right = 3 + 2 * _randn(1, c, h, w // 2, seed=11)  # a different "texture" on the right half
    features = torch.cat([left, right], dim=-1).requires_grad_()
    mask = torch.zeros(1, 1, 2 * h, 2 * w)
    mask[..., : w] = 1  # the left half, at twice the features' resolution
    out = _tensor(name, _run(name, fn, features, mask, hint=lambda e: "resize the mask to the features' "
                                                                     "h x w first (F.interpolate)"))
    if out.shape != (1, c, c):
        _fail(name, f"returned shape {tuple(out.shape)}, expected (1, C, C) = {(1, c, c)}")
    expected = gram_matrix(left)
    unmasked = "the mask is not applied: multiply the features by the mask before the products"
    mistakes = [
        (gram_matrix(features.detach()), unmasked),
        (2 * gram_matrix(features.detach()), unmasked),  # divided by the half-image area
        (expected / 2, "divided by C*h*w of the whole image: divide by C times the mask's area "
                       "(mask.sum() at the features' size), so a region gets the scale of a whole image"),
        (expected * (h * w // 2) / c, "divided by the mask's area only: divide by C times the area"),
    ]
    if not _close(out, expected, rtol=1e-3, atol=1e-5):
        _fail(name, _known_mistake(out, mistakes) or
              f"wrong values (largest difference {float((out.detach() - expected).abs().max()):.3g}); with the "
              "left-half mask the result must equal the Gram matrix of the left half alone")
    _check_gradient(name, out, {"the features": features})
    print(f"✓ {name}: the mask is resized and applied, and the region's Gram matrix has a whole image's scale")
    if show:
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 3, figsize=(9, 2.8))
        axes[0].imshow(mask[0, 0], cmap="gray", vmin=0, vmax=1)
        axes[0].set_title("mask (left half)")
        for ax, g, title in ((axes[1], out.detach()[0], "yours: masked"), (axes[2], gram_matrix(right)[0], "right half")):
            ax.imshow(g, cmap="viridis")
            ax.set_title(title)
        for ax in axes:
            ax.set_xticks([]), ax.set_yticks([])
        plt.show()


# The checks of notebooks 06-09 live in their own files; importing them here makes every check
# reachable as nh.checks.check_* (which is also how the grader finds them).
from .checks_transfer import check_total_loss  # noqa: E402
from .checks_deepdream import check_dream_step  # noqa: E402
from .checks_beyond import check_adain  # noqa: E402
