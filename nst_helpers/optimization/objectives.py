"""Objectives: what the loop minimizes, as small named terms that add up (Lucid's objectives).

An Objective is a weighted sum of named terms. Each term is a function
``term(features, image) -> scalar tensor`` of the VGG19 features {layer: (N, C, h, w)} of the
image and of the image itself (1, 3, H, W) in [0, 1], and knows which layers it reads. Terms
compose with ``+`` and are weighted with ``*``::

    objective = content_weight * content(targets) + style_weight * gram_style(grams) + tv_weight * tv()
    dream = -activation("relu4_1", power=2)          # minimizing the negative climbs the activation

Calling ``objective(features, image)`` gives ``{term name: weighted scalar}``, which is what
`optimize` records in its history and sums.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import torch

from ..core.losses import KINDS, content_loss, style_loss, tv_loss
from ..core.validation import check_choice
from ..core.vgg import check_layers

Features = Mapping[str, torch.Tensor]
#: term(features, image) -> a scalar tensor.
TermFunction = Callable[[Features, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Term:
    name: str
    weight: float
    function: TermFunction
    layers: tuple[str, ...]


class Objective:
    """A weighted sum of named terms; build one with `Objective.term` and combine with + and *."""

    def __init__(self, terms: Iterable[Term]) -> None:
        self.terms = tuple(terms)
        names = [t.name for t in self.terms]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"objective: the term name {repeated[0]!r} is used twice; give each term its own name")

    @classmethod
    def term(cls, name: str, function: TermFunction, layers: Iterable[str] = ()) -> Objective:
        """One term, weight 1. `layers`: the layers `function` reads from `features` (VGG19's names,
        or VGG16's or AlexNet's for their extractors; `optimize` checks them against the extractor's)."""
        if not callable(function):
            raise ValueError(f"{name}: the term must be a function (features, image) -> scalar")
        return cls([Term(name, 1.0, function, tuple(check_layers(layers, f"{name} layers", network=None)))])

    @property
    def layers(self) -> list[str]:
        """Every layer some term reads, each once, in the order the terms name them."""
        return list(dict.fromkeys(layer for t in self.terms for layer in t.layers))

    def __call__(self, features: Features, image: torch.Tensor) -> dict[str, torch.Tensor]:
        return {t.name: t.weight * t.function(features, image) for t in self.terms}

    def __add__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective(self.terms + other.terms)

    def __mul__(self, factor: float) -> Objective:
        if isinstance(factor, bool) or not isinstance(factor, (int, float)):
            return NotImplemented
        return Objective(Term(t.name, t.weight * factor, t.function, t.layers) for t in self.terms)

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return self * -1

    def __sub__(self, other: Objective) -> Objective:
        return self + (-other)

    def __repr__(self) -> str:
        return " + ".join(f"{t.weight:g} * {t.name}" + (f"[{', '.join(t.layers)}]" if t.layers else "")
                          for t in self.terms) or "Objective()"


def content(targets: Features, layer_weights: Mapping[str, float] | None = None, kind: str = "mse",
            name: str = "content") -> Objective:
    """distance(features, targets) over the target layers, weighted per layer (core.losses.content_loss)."""
    check_choice(kind, "kind", KINDS)
    targets = dict(targets)
    return Objective.term(name, lambda features, _: content_loss(features, targets, layer_weights, kind), targets)


def gram_style(target_grams: Features, layer_weights: Mapping[str, float] | None = None, kind: str = "mse",
               name: str = "style") -> Objective:
    """distance(Gram(features), target Gram) over the target layers (core.losses.style_loss)."""
    check_choice(kind, "kind", KINDS)
    grams = dict(target_grams)
    return Objective.term(name, lambda features, _: style_loss(features, grams, layer_weights, kind), grams)


def tv(kind: str = "l1", name: str = "tv") -> Objective:
    """Total variation of the image itself (no layers): small when neighbouring pixels agree."""
    return Objective.term(name, lambda _, image: tv_loss(image, kind))


def activation(layer: str, channel: int | None = None, power: int = 1, name: str = "activation") -> Objective:
    """The mean of `layer`'s activations to the `power` (one channel's, when given). Its negative is
    what feature visualization (power 1, one channel) and DeepDream (power 2) minimize."""
    check_layers([layer], "layer", network=None)

    def mean_activation(features: Features, _: torch.Tensor) -> torch.Tensor:
        act = features[layer]
        if channel is not None:
            if not 0 <= channel < act.shape[1]:
                raise ValueError(f"channel: {layer} has channels 0..{act.shape[1] - 1}, got {channel}")
            act = act[:, channel]
        return act.pow(power).mean()
    return Objective.term(name, mean_activation, [layer])
