"""The checks for notebook 03's second pair of exercises: the normalized content loss (each layer's
mean squared error divided by its target's mean square, so that every layer starts near 1) and
a reconstruction loop that uses it.

The loss is called on small fixed features and compared with this definition; the loop is run
for 30 steps on a tiny random network (loops.py), its loss must fall below half. A known mistake
gets a one-line AssertionError, success one line starting with "✓".
"""
from __future__ import annotations

from typing import Callable, Mapping

import torch

from .base import as_scalar, close, fail, function_name, known_mistake, randn, require_gradient, run_probe, run_student
from .deepdream import TinyExtractor
from .loops import (STEPS, extractor_features, judge_loop, judge_targets, passed, pattern, require_dict,
                    run_loop, start_image)
from .recording import Recorder

Features = Mapping[str, torch.Tensor]
#: The check's content layers (C, h, w) and how large their activations are: far apart, so that
#: a loss that is not normalized per layer is dominated by the second.
SHAPES = {"relu3_2": (4, 5, 6), "relu4_2": (6, 3, 4)}
SCALES = {"relu3_2": 2.0, "relu4_2": 6.0}
#: The reconstruction loop's layers and the share of its start loss it must get below.
LOOP_LAYERS = ["relu1_1", "relu2_1"]
FALL = 0.5


def _normalized(features: Features, targets: Features) -> torch.Tensor:
    """The reference: the mean over the target layers of mse(features, target) / mean(target ** 2)."""
    return sum(((features[k] - t) ** 2).mean() / t.pow(2).mean() for k, t in targets.items()) / len(targets)


def _inputs() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    targets = {k: SCALES[k] * (randn(1, *shape, seed=110 + i).relu() + 0.2) for i, (k, shape) in enumerate(SHAPES.items())}
    # the first layer is close to its target, the second far: their normalized terms differ
    features = {"relu3_2": targets["relu3_2"] + 0.3 * SCALES["relu3_2"] * randn(1, *SHAPES["relu3_2"], seed=100),
                "relu4_2": SCALES["relu4_2"] * randn(1, *SHAPES["relu4_2"], seed=101).relu()}
    features = {k: v.requires_grad_() for k, v in features.items()}
    features["relu1_1"] = randn(1, 3, 6, 6, seed=109)
    return features, targets


def _mistakes(features: Features, targets: Features) -> list[tuple[torch.Tensor, str]]:
    f = {k: v.detach() for k, v in features.items()}
    mse = {k: ((f[k] - t) ** 2).mean() for k, t in targets.items()}
    count = len(targets)

    def per_layer(scale: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        return sum(mse[k] / scale(f[k], t) for k, t in targets.items()) / count
    right = per_layer(lambda x, t: t.pow(2).mean())
    found = [
        (sum(mse.values()) / count, "not normalized: divide each layer's mean squared error by its target's "
                                    "mean square, so that every layer's term is 1 for an all-zero answer"),
        (sum(mse.values()), "not normalized, and the layers summed: divide each layer's term by its target's "
                            "mean square and average the layers"),
        (per_layer(lambda x, t: x.pow(2).mean()), "normalized by the current features instead of the target: "
                                                  "divide by the target's mean square, a fixed number"),
        (per_layer(lambda x, t: t.pow(2).sum()), "divided by the target's sum of squares: use its mean square"),
        (per_layer(lambda x, t: t.pow(2).mean().sqrt()), "divided by the target's root mean square: use its mean "
                                                          "square (no square root)"),
        (per_layer(lambda x, t: t.abs().mean()), "divided by the target's mean absolute value: use its mean square"),
        (per_layer(lambda x, t: t.mean() ** 2), "divided by the square of the target's mean: use the mean of its squares"),
        (per_layer(lambda x, t: t.var()), "divided by the target's variance: use its mean square, (target ** 2).mean()"),
        (right * count, "summed the layers' terms: average them, so the loss is 1 for an all-zero answer"),
        (sum(mse.values()) / sum(t.pow(2).mean() for t in targets.values()),
         "normalized the total, not each layer: divide each layer's term by its own target's mean square"),
        (right.sqrt(), "took a square root: the loss is the average of the normalized mean squared errors"),
    ]
    for k, t in targets.items():
        for value in (mse[k] / t.pow(2).mean(), mse[k] / t.pow(2).mean() / count):
            found.append((value, f"only layer {k!r} counts: add up all layers' terms (loss = loss + ...) and "
                                 "return after the loop"))
    return found


def _hint(error: Exception) -> str:
    if isinstance(error, KeyError):
        return "loop over the layers of targets: features also holds a style layer, 'relu1_1', with no target"
    return ""


def check_normalized_content_loss(fn: Callable[[Features, Features], torch.Tensor], show: bool = False) -> None:
    """fn(features {layer: (N, C, h, w)}, targets {layer: (N, C, h, w)}) must return a scalar content
    loss that does not depend on how large a layer's activations are: each layer's term is 0 for a
    perfect match and 1 when the features are all zero, and the layers of `targets` count equally
    (the total is 1 for an all-zero answer too). features may hold extra layers. Gradients must
    reach the features. (show: nothing to draw.)"""
    name = function_name(fn, "normalized_content_loss")
    features, targets = _inputs()
    out = as_scalar(name, run_student(name, fn, features, {k: v.clone() for k, v in targets.items()}, hint=_hint),
                    how="average one number per layer")
    expected = _normalized({k: v.detach() for k, v in features.items()}, targets)
    if not close(out, expected):
        fail(name, known_mistake(out, _mistakes(features, targets)) or
              f"returned {out.detach().item():.5g} on the check's input, expected {expected.item():.5g}: each "
              "layer's term must be 0 for a perfect match and 1 for all-zero features, and the layers count equally")
    zero = as_scalar(name, run_student(name, fn, {k: torch.zeros_like(t) for k, t in targets.items()}, targets))
    if not close(zero, torch.tensor(1.0), rtol=1e-4):
        fail(name, f"all-zero features gave {zero.item():.5g}, expected 1")
    require_gradient(name, out, {f"features[{k!r}]": features[k] for k in targets})
    print(f"✓ {name}: each layer's error over its target's mean square, averaged over the layers")


# ---------------------------------------------------------------------------- the loop

Reconstruct = Callable[[object, torch.Tensor, torch.Tensor, list, int, Callable], torch.Tensor]


def reconstruction_probe(fn: Reconstruct) -> dict:
    """Runs the student's loop on the tiny network with a recording normalized loss: plain data."""
    name = function_name(fn, "reconstruct")
    fix = "pass content_loss(features, targets), both {layer: tensor} for the `layers`"

    def content_loss(features: Features, targets: Features) -> torch.Tensor:
        require_dict(features, LOOP_LAYERS, "content_loss's first argument (features)", fix)
        require_dict(targets, LOOP_LAYERS, "content_loss's second argument (targets)", fix)
        return sum(((features[k] - targets[k]) ** 2).mean() / targets[k].pow(2).mean().clamp_min(1e-12)
                   for k in LOOP_LAYERS) / len(LOOP_LAYERS)
    photo, start = pattern(20, 24), start_image(20, 24)
    loss = Recorder(content_loss, keep=2)
    return run_loop(name, fn, [TinyExtractor(), photo, start, list(LOOP_LAYERS), STEPS, loss], start, loss)


def check_reconstruction_loop(fn: Reconstruct, show: bool = False) -> None:
    """fn(extractor, photo, start, layers, steps, content_loss) must return an image (start's shape,
    in [0, 1]) whose features at `layers` match the photo's: starting from `start` (not changed in
    place), `steps` optimizer steps on content_loss(features of the image, features of the photo),
    which is your normalized content loss. extractor.features(image, layers) -> {layer: (1, C, h, w)}.
    The check runs 30 steps on a tiny network; the loss must fall below half its start.
    show: draw the photo, the start and your reconstruction."""
    name = function_name(fn, "reconstruct")
    photo, start = pattern(20, 24), start_image(20, 24)
    data = run_probe(reconstruction_probe, fn)
    targets = extractor_features(photo, LOOP_LAYERS)

    def measure(image: torch.Tensor) -> float:
        return float(_normalized(extractor_features(image, LOOP_LAYERS), targets))
    calls = data["loss"]["calls"]
    if calls and any(calls[0]["grad"][1].values()) and not any(calls[0]["grad"][0].values()):
        fail(name, "passed (targets, features): call content_loss(features, targets), the image's features first")
    judge_targets(name, data, targets, "features", "photo", {"start": extractor_features(start, LOOP_LAYERS)})
    out = judge_loop(name, data, start=start, given={"the photo": photo}, loss_name="content_loss",
                     measure=measure, fall=FALL)
    passed(name, f"the loss fell from {measure(start):.3g} to {measure(out):.3g} in {STEPS} steps; the image stays "
                 "in [0, 1]", show, {"photo": photo, "start": start, "your reconstruction": out})
