"""Feature visualization: the image a VGG19 channel (or layer) responds to most.

Start from faint noise and follow the gradient *up* the activation. The loop minimizes, so
each objective returns the activation with a minus sign. Zeiler & Fergus projected
activations back with a deconvnet; gradient ascent on the input is the gradient-based
equivalent that Lucid and most modern work use.
"""
from __future__ import annotations

from typing import Callable, Mapping

import torch

from ..canvas.transforms import Transform
from ..core.vgg import VGG19Features, check_layers
from ..optimization.loop import Callback, OptimizationResult, optimize

#: features {layer: (N, C, h, w)} -> a scalar to *minimize*.
FeatureObjective = Callable[[Mapping[str, torch.Tensor]], torch.Tensor]


def channel_objective(layer: str, channel: int) -> FeatureObjective:
    """Maximize the mean activation of one channel of `layer` (returns minus the mean)."""
    check_layers([layer], "layer")

    def objective(features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        act = features[layer]
        if not 0 <= channel < act.shape[1]:
            raise ValueError(f"channel: {layer} has channels 0..{act.shape[1] - 1}, got {channel}")
        return -act[:, channel].mean()
    objective.layer = layer  # type: ignore[attr-defined]
    return objective


def layer_objective(layer: str) -> FeatureObjective:
    """Maximize the mean squared activation of the whole layer: "more of whatever is there"
    (the DeepDream objective)."""
    check_layers([layer], "layer")

    def objective(features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return -features[layer].pow(2).mean()
    objective.layer = layer  # type: ignore[attr-defined]
    return objective


def visualize(extractor: VGG19Features, objective: FeatureObjective, size: tuple[int, int] = (128, 128),
              steps: int = 160, lr: float = 0.005, transform: Transform | None = None, seed: int = 0,
              init: torch.Tensor | None = None, callback: Callback | None = None, callback_every: int = 16,
              progress: bool = True) -> OptimizationResult:
    """Gradient ascent on the pixels of an image of `size` (H, W) for `objective`.

    Starts from gray plus faint seeded noise (or `init`, (1, 3, H, W) in [0, 1]) and runs Adam.
    `transform` (see canvas.transforms) is applied before VGG on every step; None means
    plain ascent. Returns an OptimizationResult whose .image is (1, 3, H, W) in [0, 1] and
    whose history "activation" is the minimized (negative) objective.
    """
    layer = getattr(objective, "layer", None)
    if layer is None:
        raise ValueError("objective: build it with channel_objective or layer_objective")
    if init is None:
        generator = torch.Generator().manual_seed(seed)
        init = 0.5 + 0.02 * torch.randn(1, 3, *size, generator=generator)
    init = init.to(extractor.device).clamp(0, 1)

    def loss(image: torch.Tensor) -> dict[str, torch.Tensor]:
        seen = transform(image) if transform is not None else image
        return {"activation": objective(extractor.features(seen, [layer]))}

    return optimize(loss, init, steps, optimizer="adam", lr=lr, callback=callback,
                    callback_every=callback_every, progress=progress, desc=f"visualizing {layer}",
                    divergence_guard=transform is None)
