"""Feature visualization: the image a VGG19 channel (or layer) responds to most.

Start from faint noise and follow the gradient *up* the activation (activation maximization,
Erhan et al. 2009; Olah et al. 2017). The loop minimizes, so each objective is the negative of
an activation objective.
"""
from __future__ import annotations

import torch

from ..canvas.transforms import Transform
from ..core.vgg import VGG19Features
from ..optimization import objectives
from ..optimization.loop import Callback, OptimizationResult, optimize
from ..optimization.objectives import Objective


def channel_objective(layer: str, channel: int) -> Objective:
    """Maximize the mean activation of one channel of `layer`: minus objectives.activation."""
    return -objectives.activation(layer, channel)


def layer_objective(layer: str) -> Objective:
    """Maximize the mean squared activation of the whole layer: "more of whatever is there"
    (the DeepDream objective)."""
    return -objectives.activation(layer, power=2)


def visualize(extractor: VGG19Features, objective: Objective, size: tuple[int, int] = (128, 128),
              steps: int = 160, lr: float = 0.005, transform: Transform | None = None, seed: int = 0,
              init: torch.Tensor | None = None, callback: Callback | None = None, callback_every: int = 16,
              progress: bool = True) -> OptimizationResult:
    """Gradient ascent on the pixels of an image of `size` (H, W) for `objective`.

    Starts from gray plus faint seeded noise (or `init`, (1, 3, H, W) in [0, 1]) and runs Adam.
    `transform` (see canvas.transforms) is applied before VGG on every step; None means
    plain ascent. Returns an OptimizationResult whose .image is (1, 3, H, W) in [0, 1] and
    whose history "activation" is the minimized (negative) objective.
    """
    if not isinstance(objective, Objective) or not objective.layers:
        raise ValueError("objective: build it with channel_objective, layer_objective or objectives.activation")
    if init is None:
        generator = torch.Generator().manual_seed(seed)
        init = 0.5 + 0.02 * torch.randn(1, 3, *size, generator=generator)
    init = init.to(extractor.device).clamp(0, 1)
    return optimize(objective, init, steps, extractor=extractor, transform=transform, optimizer="adam", lr=lr,
                    callback=callback, callback_every=callback_every, progress=progress,
                    desc=f"visualizing {', '.join(objective.layers)}")
