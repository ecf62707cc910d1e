"""DeepDream (Mordvintsev, Olah & Tyka, 2015): turn up whatever a VGG19 layer already sees.

Gradient *ascent* on the pixels of a photo for the mean squared activation of one layer (or
of one channel): every pattern the layer half-recognizes gets stronger. The classic recipe
adds three tricks, all here: a random roll (jitter) before each step, a gradient normalized
by its mean absolute value, and an image pyramid (octaves) that dreams small first and
carries the dreamed detail up to each larger size.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..core.images import MIN_SIDE, resize
from ..core.validation import check_image
from ..core.vgg import get_extractor
from ..core.vgg import VGG19Features, check_layers, layer_table
from ..optimization.loop import Callback, StopOptimization


@dataclass
class DreamResult:
    """image: the dream (1, 3, H, W) in [0, 1] at the input's size.
    octave_images: the dream at the end of each octave, smallest first, each (1, 3, h, w) in [0, 1].
    history: the objective (mean squared activation) before each step, all octaves in order.
    seconds: wall-clock time of the run.
    interrupted: True when Ctrl-C or StopOptimization from the callback ended it early; then
    image is the dream so far, enlarged to the input's size."""

    image: torch.Tensor
    octave_images: list[torch.Tensor]
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False


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


def _check_int(value: object, name: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _check_positive(value: object, name: str, above: float = 0.0) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value <= above:
        raise ValueError(f"{name} must be a finite number > {above:g}, got {value!r}")


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
    _check_int(octaves, "octaves", 1)
    _check_positive(octave_scale, "octave_scale", above=1.0)
    _check_int(steps_per_octave, "steps_per_octave", 1)
    _check_positive(step_size, "step_size")
    _check_int(jitter, "jitter", 0)
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be a function callback(step, image, losses), got {type(callback).__name__}")
    smallest = octave_sizes(*image.shape[-2:], octaves, octave_scale)[0]
    if min(smallest) < MIN_SIDE:
        raise ValueError(f"octaves: the smallest octave would be {smallest[1]}x{smallest[0]} px, below VGG19's "
                         f"{MIN_SIDE} px; use fewer octaves, a smaller octave_scale or a larger image")


def deepdream(image: torch.Tensor, layer: str, *, channel: int | None = None, octaves: int = 4,
              octave_scale: float = 1.4, steps_per_octave: int = 10, step_size: float = 0.006,
              jitter: int = 16, extractor: VGG19Features | None = None, seed: int = 0,
              progress: bool = True, callback: Callback | None = None) -> DreamResult:
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
    callback(step, image (1, 3, H, W) at the input size, {"objective": value}) is called after
        every step.
    Ctrl-C, or StopOptimization raised by the callback, ends early and returns the dream so far.
    Returns a DreamResult; the image is on the extractor's device.
    """
    _check_arguments(image, layer, channel, octaves, octave_scale, steps_per_octave, step_size, jitter, callback)
    extractor = extractor if extractor is not None else get_extractor(pooling="max")
    photo = image.detach().to(extractor.device, torch.float32).clamp(0, 1)
    height, width = photo.shape[-2:]
    generator = torch.Generator().manual_seed(seed)
    history: list[float] = []
    octave_images: list[torch.Tensor] = []
    detail, dream, interrupted = None, photo, False
    start = time.perf_counter()
    bar = tqdm(total=octaves * steps_per_octave, desc=f"dreaming {layer}", disable=not progress)
    try:
        for size in octave_sizes(height, width, octaves, octave_scale):
            base = resize(photo, size) if size != (height, width) else photo
            if detail is not None:
                detail = F.interpolate(detail, size=size, mode="bilinear", align_corners=False)
            dream = base if detail is None else (base + detail).clamp(0, 1)
            for _ in range(steps_per_octave):
                shift = _random_shift(jitter, generator) if jitter else (0, 0)
                dream, value = ascent_step(dream, extractor, layer, channel, step_size, shift)
                history.append(value)
                bar.update(1)
                bar.set_postfix(octave=f"{len(octave_images) + 1}/{octaves}", objective=f"{value:.4g}",
                                refresh=False)
                if callback is not None:
                    shown = dream if size == (height, width) else resize(dream, (height, width))
                    callback(len(history), shown, {"objective": value})
            detail = dream - base
            octave_images.append(dream)
    except (KeyboardInterrupt, StopOptimization):
        interrupted = True
    finally:
        bar.close()
    image = octave_images[-1] if not interrupted else resize(dream, (height, width))
    return DreamResult(image=image, octave_images=octave_images, history=history,
                       seconds=time.perf_counter() - start, interrupted=interrupted)
