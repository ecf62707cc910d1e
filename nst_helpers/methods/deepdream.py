"""DeepDream (Mordvintsev, Olah & Tyka, 2015): turn up whatever a VGG19 layer already sees.

Gradient *ascent* on the pixels of a photo for the mean squared activation of one layer (or
of one channel): every pattern the layer half-recognizes gets stronger. The classic recipe
adds three tricks, all here: a random roll (jitter) before each step, a gradient normalized
by its mean absolute value, and an image pyramid (octaves) that dreams small first and
carries the dreamed detail up to each larger size.

`ascent_step` writes one step out by hand (what notebook 08's exercise asks for, and the
reference its check compares with); `deepdream` runs the same step through `optimize` (minus
the activation objective, NormalizedGradient, the jitter as a transform), which a test keeps
equal to ascent_step.
"""
from __future__ import annotations

import math
import time
from typing import Mapping

import torch
import torch.nn.functional as F

from ..core.images import MIN_SIDE, resize
from ..core.validation import check_callback, check_image, check_int, check_number
from ..core.vgg import VGG19Features, check_layers, get_extractor, layer_table
from ..optimization import objectives
from ..optimization.loop import Callback, OptimizationResult, optimize
from ..optimization.optimizers import NormalizedGradient


def octave_sizes(height: int, width: int, octaves: int, octave_scale: float) -> list[tuple[int, int]]:
    """The pyramid's (h, w) sizes, smallest first; the last is (height, width).
    Each size is `octave_scale` times the one before it."""
    return [(round(height / octave_scale ** k), round(width / octave_scale ** k))
            for k in reversed(range(octaves))]


def dream_objective(features: torch.Tensor, channel: int | None = None) -> torch.Tensor:
    """The quantity DeepDream increases: the mean of the squared activations (1, C, h, w) of the
    whole layer, or of one channel when `channel` is given. Returns a scalar tensor."""
    if channel is not None:
        features = features[:, channel]
    return features.pow(2).mean()


def ascent_step(image: torch.Tensor, extractor: VGG19Features, layer: str, channel: int | None,
                 step_size: float, shift: tuple[int, int] = (0, 0)) -> tuple[torch.Tensor, float]:
    """One normalized gradient-ascent step on `image` (1, 3, H, W) in [0, 1], seen rolled by `shift`
    pixels (dy, dx). Returns the new image (same shape, in [0, 1], rolled back) and the objective
    before the step."""
    with torch.enable_grad():
        rolled = torch.roll(image.detach(), shift, dims=(-2, -1)).requires_grad_()
        objective = dream_objective(extractor.features(rolled, [layer])[layer], channel)
        grad, = torch.autograd.grad(objective, rolled)
    grad = grad / (grad.abs().mean() + 1e-8)
    stepped = (rolled.detach() + step_size * grad).clamp(0, 1)
    return torch.roll(stepped, (-shift[0], -shift[1]), dims=(-2, -1)), objective.item()


def _random_shift(jitter: int, generator: torch.Generator) -> tuple[int, int]:
    dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
    return dy, dx


def _check_channel(channel: int | None, layer: str) -> None:
    if channel is None:
        return
    count = next(row.channels for row in layer_table() if row.name == layer)
    if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel < count:
        raise ValueError(f"channel: {layer} has channels 0..{count - 1}, got {channel!r}")


def _check_arguments(image: torch.Tensor, layer: str, channel: int | None, octaves: int,
                     octave_scale: float, steps_per_octave: int, step_size: float, jitter: int,
                     callback: Callback | None) -> None:
    """Raise a one-line ValueError for the first bad argument of deepdream."""
    check_image(image, "image")
    check_layers([layer], "layer")
    _check_channel(channel, layer)
    check_int(octaves, "octaves", 1)
    check_number(octave_scale, "octave_scale", above=1.0)
    check_int(steps_per_octave, "steps_per_octave", 1)
    check_number(step_size, "step_size")
    check_int(jitter, "jitter", 0)
    check_callback(callback)
    smallest = octave_sizes(*image.shape[-2:], octaves, octave_scale)[0]
    if min(smallest) < MIN_SIDE:
        raise ValueError(f"octaves: the smallest octave would be {smallest[1]}x{smallest[0]} px, below VGG19's "
                         f"{MIN_SIDE} px; use fewer octaves, a smaller octave_scale or a larger image")


def deepdream(image: torch.Tensor, layer: str, *, channel: int | None = None, octaves: int = 4,
              octave_scale: float = 1.4, steps_per_octave: int = 10, step_size: float = 0.006,
              jitter: int = 16, extractor: VGG19Features | None = None, seed: int = 0,
              progress: bool = True, callback: Callback | None = None) -> OptimizationResult:
    """Dream on `image` (1, 3, H, W) RGB in [0, 1]: amplify what `layer` (e.g. "relu4_1") responds to.

    channel: amplify one channel of the layer instead of all of it.
    octaves: pyramid levels, each `octave_scale` (> 1) times larger than the one before; the dream
        starts on the smallest and its detail (dream minus photo) is carried up to the next.
    steps_per_octave: gradient-ascent steps at each level. step_size: how far each step moves the
        average pixel, in [0, 1] pixel units (the gradient is divided by its mean |value|).
    jitter: each step sees the image rolled by up to this many pixels in x and y (seeded by `seed`).
    octaves, octave_scale, steps_per_octave and step_size default to Google's original values
    (its step was 1.5 on the 0-255 scale).
    extractor: default get_extractor(pooling="max"), VGG19 as trained: with average pooling (good
        for style transfer) the dream is rainbow streaks instead of shapes.
    callback(step, image (1, 3, H, W) at the input size, losses) is called after every step,
        steps counted across the octaves.
    Each octave is one run of `optimize` (optimizers.NormalizedGradient on minus the objective,
    the jitter as its transform), so NaN recovery works as everywhere; Ctrl-C, or StopOptimization
    raised by the callback, ends the whole dream and returns the dream so far.
    Returns an OptimizationResult: .image (1, 3, H, W) in [0, 1] on the extractor's device,
    .stages the dream at the end of each octave (smallest first), .history "activation" (minus
    the objective, as minimized) for every step of every octave.
    """
    _check_arguments(image, layer, channel, octaves, octave_scale, steps_per_octave, step_size, jitter, callback)
    extractor = extractor if extractor is not None else get_extractor(pooling="max")
    photo = image.detach().to(extractor.device, torch.float32).clamp(0, 1)
    height, width = photo.shape[-2:]
    generator = torch.Generator().manual_seed(seed)
    objective = -objectives.activation(layer, channel, power=2)
    roll = (lambda x: torch.roll(x, _random_shift(jitter, generator), dims=(-2, -1))) if jitter else None
    history: dict[str, list[float]] = {}
    stages: list[torch.Tensor] = []
    detail, dream, done, recoveries, messages = None, photo, 0, 0, []
    interrupted, began = False, time.perf_counter()
    sizes = octave_sizes(height, width, octaves, octave_scale)
    for k, size in enumerate(sizes):
        base = resize(photo, size) if size != (height, width) else photo
        if detail is not None:
            detail = F.interpolate(detail, size=size, mode="bilinear", align_corners=False)
        dream = base if detail is None else (base + detail).clamp(0, 1)

        def at_full_size(step: int, image: torch.Tensor, losses: Mapping[str, float]) -> None:
            callback(step, image if image.shape[-2:] == (height, width) else resize(image, (height, width)), losses)
        result = optimize(objective, dream, steps_per_octave, extractor=extractor, transform=roll,
                          optimizer=NormalizedGradient, lr=step_size, divergence_guard=False, keep="last",
                          callback=at_full_size if callback is not None else None, callback_every=1,
                          step_offset=done, progress=progress, desc=f"dreaming {layer}, octave {k + 1}/{len(sizes)}")
        dream, done = result.image, done + result.steps
        recoveries, messages = recoveries + result.recoveries, messages + result.messages
        for key, values in result.history.items():
            history.setdefault(key, []).extend(values)
        if result.interrupted:
            interrupted = True
            break
        detail = dream - base
        stages.append(dream)
    image = stages[-1] if not interrupted else resize(dream, (height, width))
    return OptimizationResult(image=image, history=history, steps=done, best_loss=min(history.get("total", [math.inf])),
                              seconds=time.perf_counter() - began, interrupted=interrupted, recoveries=recoveries,
                              messages=messages, stages=stages)
