"""Style as per-channel feature statistics (Huang & Belongie 2017, AdaIN).

AdaIN says a style is, to first approximation, the mean and standard deviation of each VGG
channel over the image. adain() moves content features to the style's statistics; a trained
decoder would turn them back into an image in one pass. With no decoder here, adain_transfer
replaces it by optimization: it looks for the image whose features match the AdaIN target.
"""
from __future__ import annotations

import os
from typing import Mapping, Union

import torch
import torch.nn.functional as F

from ..core.losses import layer_weights_for
from ..core.validation import Layers, check_features, layer_weights
from ..optimization import objectives
from ..optimization.loop import Callback, OptimizationResult
from ..optimization.objectives import Objective
from .setup import TransferSettings, check_inputs, prepare_transfer, run_transfer

#: Added to the variance before the square root, so that a constant channel has std sqrt(EPS), not 0.
EPS = 1e-5
ADAIN_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")

#: A style target per layer: its features (N, C, h, w) or their (mean, std), each (N, C, 1, 1).
StyleStats = Union[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]


def channel_mean_std(features: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std over the positions of (N, C, h, w) features.

    Returns (mean, std), each (N, C, 1, 1); std = sqrt(variance + eps), the population
    variance (divided by h*w), so a constant channel gets sqrt(eps) instead of 0.
    """
    check_features(features, "features")
    var, mean = torch.var_mean(features, dim=(2, 3), keepdim=True, unbiased=False)
    return mean, (var + eps).sqrt()


def adain(content_features: torch.Tensor, style_features: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Adaptive instance normalization: content features (N, C, h, w) with each channel
    normalized to mean 0, std 1 and then given the style's (N, C, h', w') mean and std.
    Returns the content's shape; the spatial pattern is the content's, the statistics the style's."""
    check_features(content_features, "content_features")
    check_features(style_features, "style_features")
    if style_features.shape[:2] != content_features.shape[:2]:
        raise ValueError(f"style_features: (N, C) = {tuple(style_features.shape[:2])} differs from the "
                         f"content's {tuple(content_features.shape[:2])}")
    content_mean, content_std = channel_mean_std(content_features, eps)
    style_mean, style_std = channel_mean_std(style_features, eps)
    return (content_features - content_mean) / content_std * style_std + style_mean


def _stats(target: StyleStats, layer: str) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(target, torch.Tensor):
        return channel_mean_std(target)
    if isinstance(target, (tuple, list)) and len(target) == 2:
        return target[0], target[1]
    raise ValueError(f"style_features_or_stats[{layer!r}]: expected features (N, C, h, w) or a (mean, std) "
                     f"pair, got {type(target).__name__}")


def mean_std_loss(features: Mapping[str, torch.Tensor], style_features_or_stats: Mapping[str, StyleStats],
                  layer_weights: Mapping[str, float] | None = None) -> torch.Tensor:
    """AdaIN's style loss, a scalar: sum over the style's layers of
    weight * (mean over channels of (mu(f) - mu(s))^2 + mean over channels of (sigma(f) - sigma(s))^2).

    features: {layer: (N, C, h, w)}; style_features_or_stats: {layer: features or (mean, std)};
    layer_weights: {layer: weight}, default equal weights summing to 1.
    """
    weights = layer_weights_for(style_features_or_stats, layer_weights)
    missing = [name for name in weights if name not in features]
    if missing:
        raise ValueError(f"features: no layer {missing[0]!r}, which the style has")
    return sum(weight * _mean_std_distance(features[name], _stats(style_features_or_stats[name], name))
               for name, weight in weights.items())


def _mean_std_distance(features: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    mean, std = channel_mean_std(features)
    return F.mse_loss(mean, stats[0]) + F.mse_loss(std, stats[1])


def check_alpha(alpha: float) -> float:
    """alpha must be a number in [0, 1]."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    return float(alpha)


def mean_std_objective(style_stats: Mapping[str, StyleStats], layer_weights: Mapping[str, float],
                       name: str = "style") -> Objective:
    """The mean/std style term (mean_std_loss against the style's statistics) as an Objective."""
    stats = dict(style_stats)
    return Objective.term(name, lambda features, _: mean_std_loss(features, stats, layer_weights), layer_weights)


def adain_transfer(content: torch.Tensor, style: torch.Tensor, *, layer: str = "relu4_1",
                   style_layers: Layers = ADAIN_STYLE_LAYERS, alpha: float = 1.0, style_weight: float = 30.0,
                   tv_weight: float = 3e4, steps: int = 200, optimizer: str = "lbfgs", lr: float | None = None,
                   init: str | torch.Tensor = "content", seed: int = 0, device: str | torch.device | None = None,
                   weights: str | os.PathLike = "original", pooling: str = "avg", precision: str = "auto",
                   callback: Callback | None = None, callback_every: int = 10,
                   progress: bool = True) -> OptimizationResult:
    """AdaIN style transfer with the decoder replaced by optimization. content, style: (1, 3, H, W) in [0, 1].

    The image is optimized so that its `layer` features match the AdaIN target
    t = alpha * adain(content features, style features) + (1 - alpha) * content features (mean
    squared error, history "content", as in Huang & Belongie), plus style_weight * mean_std_loss
    over style_layers ("style") and tv_weight * tv_loss ("tv"). alpha in [0, 1] trades content
    for style in feature space. Defaults tuned on Tübingen x The Starry Night at 128-256 px.
    weights, pooling, device, precision: the VGG19 to use, as for style_transfer.
    Returns an OptimizationResult (.image (1, 3, H, W) in [0, 1], .history per term).
    """
    settings = TransferSettings(style_weight=style_weight, tv_weight=tv_weight, optimizer=optimizer, lr=lr,
                                init=init, seed=seed, device=device, weights=weights, pooling=pooling,
                                precision=precision)  # every choice checked before any work
    check_inputs(content, [style], steps)
    alpha = check_alpha(alpha)
    target_w = layer_weights([layer], "layer")
    style_w = layer_weights(style_layers, "style_layers")
    setup = prepare_transfer(content, [style], [layer, *style_w], settings)
    with torch.no_grad():
        content_features = setup.extractor.features(setup.content, [layer])[layer]
        style_features = setup.extractor.features(setup.styles[0], setup.layers)
        target = {layer: alpha * adain(content_features, style_features[layer]) + (1 - alpha) * content_features}
        style_stats = {name: channel_mean_std(style_features[name]) for name in style_w}
    objective = (objectives.content(target, target_w)
                 + settings.style_weight * mean_std_objective(style_stats, style_w)
                 + settings.tv_weight * objectives.tv())
    return run_transfer(setup, objective, steps, callback=callback, callback_every=callback_every,
                        progress=progress, desc="AdaIN transfer")
