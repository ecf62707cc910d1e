"""The check for notebook 08's exercise, one DeepDream step.

Like the checks there, it runs the student's function on small fixed inputs, compares the result
with this package's own step, names the known mistake when they differ (AssertionError, one
line) and prints one line starting with "✓" on success. A tiny fixed two-layer network stands
in for VGG19, so the check needs no weights and takes a few milliseconds.
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F

from ...methods.deepdream import ascent_step
from .base import as_tensor, fail, function_name, rand, randn, run_probe, run_student


DreamStep = Callable[[torch.Tensor, object, str, float], torch.Tensor]
#: Results within this (largest absolute pixel difference) of a candidate count as equal to it.
PIXEL_TOLERANCE = 1e-4
STEP_SIZE = 0.05


class TinyExtractor:
    """A stand-in for VGG19Features: two fixed random 3x3 convolutions with ReLUs, "relu1_1"
    (6 channels) and "relu2_1" (8 channels, after a 2x2 average pooling).

    .features(image (N, 3, H, W) in [0, 1], layers) -> {name: (N, C, h, w)}, like VGG19Features.
    The activations are scaled up so that raw gradients are far larger than 1 per pixel.
    """

    LAYERS = ("relu1_1", "relu2_1")
    device = torch.device("cpu")

    def __init__(self) -> None:
        self.conv1 = randn(6, 3, 3, 3, seed=30)
        self.conv2 = randn(8, 6, 3, 3, seed=31) / 3

    def features(self, image: torch.Tensor, layers: Iterable[str] | str) -> dict[str, torch.Tensor]:
        layers = [layers] if isinstance(layers, str) else list(layers)
        unknown = [name for name in layers if name not in self.LAYERS]
        if unknown:
            raise ValueError(f"layers: unknown layer {unknown[0]!r}; valid names are {', '.join(self.LAYERS)}")
        relu1 = F.conv2d(image - 0.5, self.conv1, padding=1).relu()
        relu2 = F.conv2d(F.avg_pool2d(relu1, 2), self.conv2, padding=1).relu()
        found = {"relu1_1": 30 * relu1, "relu2_1": 30 * relu2}
        return {name: found[name] for name in layers}

    __call__ = features


def _check_input() -> torch.Tensor:
    """The check's input (1, 3, 16, 20) in [0, 1]: noise with its top rows white and bottom rows
    black, so that a step without clamping leaves [0, 1]."""
    image = rand(1, 3, 16, 20, seed=32)
    image[..., :3, :] = 1.0
    image[..., -3:, :] = 0.0
    return image


def _gradient(image: torch.Tensor, extractor: TinyExtractor, layer: str, squared: bool = True) -> torch.Tensor:
    x = image.clone().requires_grad_()
    act = extractor.features(x, [layer])[layer]
    grad, = torch.autograd.grad(act.pow(2).mean() if squared else act.mean(), x)
    return grad


def _mistakes(image: torch.Tensor, extractor: TinyExtractor, layer: str, other: str,
              step: float) -> list[tuple[torch.Tensor, str]]:
    """(what a known mistake returns, what to tell the student), for the check's inputs."""
    g = _gradient(image, extractor, layer)
    gn = g / g.abs().mean()
    plain = _gradient(image, extractor, layer, squared=False)
    wrong_layer = _gradient(image, extractor, other)
    normalize = "divide the gradient by its mean absolute value, grad.abs().mean()"
    return [
        (image, "returned the image unchanged: return image + step_size * (normalized gradient), clamped"),
        (gn, "returned the normalized gradient, not the new image: add step_size times it to the image"),
        (g, "returned the gradient, not the new image: normalize it, add step_size times it to the image"),
        ((image - step * gn).clamp(0, 1), "stepped downhill (image - ...): DeepDream *increases* the "
                                          "activations, so add the gradient, image + step_size * grad"),
        (image - step * gn, "stepped downhill (image - ...) and did not clamp: add the gradient and "
                            "clamp to [0, 1]"),
        ((image + step * g).clamp(0, 1), f"did not normalize the gradient: {normalize}, so that each "
                                         "step moves the average pixel by step_size"),
        (image + step * g, f"did not normalize the gradient: {normalize}"),
        ((image + step * g / g.abs().max()).clamp(0, 1), f"divided by the largest |gradient|: {normalize}"),
        ((image + step * g / g.std()).clamp(0, 1), f"divided by the gradient's standard deviation: {normalize}"),
        ((image + step * g / g.norm()).clamp(0, 1), f"divided by the gradient's norm: {normalize}"),
        ((image + gn).clamp(0, 1), "ignored step_size: the step is step_size * grad / grad.abs().mean()"),
        (image + step * gn, "did not clamp: the pixels leave [0, 1]; end with .clamp(0, 1)"),
        ((image + step * plain / plain.abs().mean()).clamp(0, 1),
         "increased the plain mean activation: the DeepDream objective is the mean of the *squared* "
         "activations, features.pow(2).mean()"),
        ((image + step * wrong_layer / wrong_layer.abs().mean()).clamp(0, 1),
         f"used layer {other!r}: take the activations of the `layer` argument"),
    ]


def _max_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.detach().float().cpu() - b).abs().max()) if a.shape == b.shape else float("inf")


def _detached_hint(error: Exception) -> str:
    text = str(error)
    if isinstance(error, RuntimeError) and "does not require grad" in text:
        return ("the objective is cut off from the image: start with image = image.detach().requires_grad_() "
                "and compute it outside torch.no_grad()")
    if isinstance(error, (TypeError, AttributeError)) and "NoneType" in text:
        return ("image.grad is None: call image.requires_grad_() before the forward pass and "
                "objective.backward() before reading image.grad")
    return ""


def _diagnose(out: torch.Tensor, mistakes: Sequence[tuple[torch.Tensor, str]]) -> str:
    for value, message in mistakes:
        if _max_difference(out, value) < PIXEL_TOLERANCE:
            return message
    low, high = float(out.min()), float(out.max())
    if low < -1e-6 or high > 1 + 1e-6:
        return f"values run from {low:.3g} to {high:.3g}, outside [0, 1]: clamp the new image, .clamp(0, 1)"
    return ("wrong values: one step is (image + step_size * grad / grad.abs().mean()).clamp(0, 1), with grad "
            "the gradient of features[layer].pow(2).mean() with respect to the image")


def dream_step_probe(fn: DreamStep) -> torch.Tensor:
    """The student's step on the check's input, on the tiny network (which cannot travel to a sandbox)."""
    name = function_name(fn, "dream_step")
    out = run_student(name, fn, _check_input(), TinyExtractor(), "relu2_1", STEP_SIZE, hint=_detached_hint)
    return as_tensor(name, out).detach()


def check_dream_step(fn: DreamStep, show: bool = False) -> None:
    """fn(image (1, 3, H, W) in [0, 1], extractor, layer, step_size) must return one DeepDream step:
    (image + step_size * grad / mean|grad|).clamp(0, 1), grad being the gradient of the mean
    squared activation extractor.features(image, [layer])[layer].pow(2).mean() w.r.t. the image.
    show: draw a colour ramp after 20 of your steps and after 20 of ours (on the tiny network)."""
    name = function_name(fn, "dream_step")
    extractor, image, layer = TinyExtractor(), _check_input(), "relu2_1"
    expected, _ = ascent_step(image, extractor, layer, None, STEP_SIZE)
    out = as_tensor(name, run_probe(dream_step_probe, fn))
    if out.shape != image.shape:
        fail(name, f"returned shape {tuple(out.shape)}, expected the image's shape {tuple(image.shape)}")
    if _max_difference(out, expected) >= PIXEL_TOLERANCE:
        fail(name, _diagnose(out, _mistakes(image, extractor, layer, "relu1_1", STEP_SIZE)))
    print(f"✓ {name}: one normalized gradient-ascent step on the mean squared activation, clamped to [0, 1]")
    if show:
        _show(fn, extractor, layer)


def _show(fn: DreamStep, extractor: TinyExtractor, layer: str, steps: int = 20, step_size: float = 0.01) -> None:
    from ...notebook.plots import show_images

    ys, xs = torch.meshgrid(torch.linspace(0, 1, 48), torch.linspace(0, 1, 64), indexing="ij")
    start = torch.stack([0.3 + 0.4 * xs, 0.3 + 0.4 * ys, 0.7 - 0.3 * xs]).unsqueeze(0)  # a smooth colour ramp
    yours, ours = start.clone(), start.clone()
    for _ in range(steps):
        yours = fn(yours, extractor, layer, step_size).detach()
        ours = ascent_step(ours, extractor, layer, None, step_size)[0]
    show_images({"start": start, f"{steps} of your steps": yours, f"{steps} of ours": ours},
                suptitle="dreaming on a tiny random network: same start, same steps")
