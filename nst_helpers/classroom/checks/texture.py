"""The check for notebook 05's second exercise: a texture synthesis loop driven by the student's
own style loss.

The loop runs for 30 steps on a tiny random network (loops.py) with a recording style loss in
place of the student's; the style loss of its result must fall below a tenth of the start's,
and the targets it was given must be the style's Gram matrices. A known mistake gets a
one-line AssertionError, success one line starting with "✓".
"""
from __future__ import annotations

from typing import Callable, Mapping

import torch

from ...core.losses import gram_matrix
from .base import Mistake, function_name, run_probe
from .deepdream import TinyExtractor
from .loops import (STEPS, extractor_features, judge_loop, judge_targets, passed, pattern, require_dict,
                    run_loop, start_image)
from .recording import Recorder

Synthesize = Callable[[object, torch.Tensor, torch.Tensor, Mapping[str, float], int, Callable], torch.Tensor]
#: The layers and weights of the check's run; the start is square and the style is not, so that a
#: result of the style's size is caught.
WEIGHTS = {"relu1_1": 1.0, "relu2_1": 0.5}
STYLE_SIZE, START_SIZE = (20, 28), (24, 24)
FALL = 0.1


def _style_loss(features: Mapping[str, torch.Tensor], grams: Mapping[str, torch.Tensor]) -> float:
    return float(sum(w * ((gram_matrix(features[k]) - grams[k]) ** 2).mean() for k, w in WEIGHTS.items()))


def texture_probe(fn: Synthesize) -> dict:
    """Runs the student's loop on the tiny network with a recording style loss: plain data."""
    name = function_name(fn, "synthesize")
    layers = list(WEIGHTS)
    fix = "call style_loss(features, target_grams, weights) with {layer: tensor} dicts for the weights' layers"

    def style_loss(features: Mapping[str, torch.Tensor], target_grams: Mapping[str, torch.Tensor],
                   weights: Mapping[str, float]) -> torch.Tensor:
        require_dict(features, layers, "style_loss's first argument (features)", fix)
        require_dict(target_grams, layers, "style_loss's second argument (target_grams)", fix)
        for k in layers:
            c = features[k].shape[1]
            if tuple(target_grams[k].shape) != (1, c, c):
                raise Mistake(f"target_grams[{k!r}] has shape {tuple(target_grams[k].shape)}, a Gram matrix is "
                              f"(1, C, C) = {(1, c, c)}: pass gram_matrix of the style's features")
        if not isinstance(weights, Mapping) or dict(weights) != WEIGHTS:
            raise Mistake(f"style_loss got the weights {weights!r}: pass the loop's `weights` argument on")
        return sum(w * ((gram_matrix(features[k]) - target_grams[k]) ** 2).mean() for k, w in weights.items())
    style, start = pattern(*STYLE_SIZE), start_image(*START_SIZE)
    loss = Recorder(style_loss, keep=2)
    return run_loop(name, fn, [TinyExtractor(), style, start, dict(WEIGHTS), STEPS, loss], start, loss)


def check_texture_synthesis(fn: Synthesize, show: bool = False) -> None:
    """fn(extractor, style, start, weights, steps, style_loss) must return a texture: an image of the
    start's shape (here not the style's), in [0, 1], whose Gram matrices at the layers of `weights`
    {layer: weight} match the style image's. Start from `start` (do not change it in place) and take
    `steps` optimizer steps on style_loss(features of the image, the style's Gram matrices, weights),
    style_loss being yours from above. extractor.features(image, layers) -> {layer: (1, C, h, w)}.
    The check runs 30 steps on a tiny network; the style loss must fall below a tenth of its start.
    show: draw the style, the start and your texture."""
    name = function_name(fn, "synthesize")
    style, start = pattern(*STYLE_SIZE), start_image(*START_SIZE)
    data = run_probe(texture_probe, fn)
    grams = {k: gram_matrix(v) for k, v in extractor_features(style, list(WEIGHTS)).items()}

    def measure(image: torch.Tensor) -> float:
        return _style_loss(extractor_features(image, list(WEIGHTS)), grams)
    start_grams = {k: gram_matrix(v) for k, v in extractor_features(start, list(WEIGHTS)).items()}
    judge_targets(name, data, grams, "Gram matrices", "style", {"start": start_grams})
    out = judge_loop(name, data, start=start, given={"the style": style}, loss_name="style_loss",
                     measure=measure, fall=FALL)
    passed(name, f"the style loss fell from {measure(start):.4g} to {measure(out):.4g} in {STEPS} steps (below a "
                 "tenth); the texture has the start's size and stays in [0, 1]",
           show, {"style": style, "start": start, "your texture": out})
