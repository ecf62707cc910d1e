"""Pictures: labelled image grids and loss curves with matplotlib."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import torch

from ..core.images import to_pil


def show_images(images: Sequence[torch.Tensor] | Mapping[str, torch.Tensor], titles: Sequence[str] | None = None,
                ncols: int | None = None, size: float = 3.0, suptitle: str | None = None) -> plt.Figure:
    """A grid of images (each (1, 3, H, W) or (3, H, W) in [0, 1]) with a title under each.

    Pass a dict {title: image} or a list plus `titles`. Returns the matplotlib Figure.
    """
    if isinstance(images, Mapping):
        titles, images = list(images.keys()), list(images.values())
    images = list(images)
    if not images:
        raise ValueError("images: nothing to show")
    titles = list(titles) if titles is not None else [""] * len(images)
    if len(titles) != len(images):
        raise ValueError(f"titles: {len(titles)} titles for {len(images)} images")
    ncols = ncols or min(len(images), 4)
    nrows = math.ceil(len(images) / ncols)
    pils = [to_pil(img) for img in images]
    aspect = pils[0].height / pils[0].width
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * aspect * nrows + 0.4 * nrows),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, pil, title in zip(axes.flat, pils, titles):
        ax.imshow(pil)
        ax.set_title(title, fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


#: Dash patterns cycled over the curves (solid, dashed, dotted, dash-dot).
LINE_STYLES = ("-", "--", ":", "-.")


def plot_losses(history: Mapping[str, Sequence[float]], keys: Sequence[str] | None = None,
                log: bool = True, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Loss curves, one line per history key (default: all but "total" if others exist). Each line
    has its own colour, dash pattern and width (the first widest), so curves lying on top of each
    other stay visible."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    keys = list(keys) if keys is not None else [k for k in history if k != "total" or len(history) == 1]
    for i, key in enumerate(keys):
        values = history[key]
        if log and any(v <= 0 for v in values):
            values = [v if v > 0 else float("nan") for v in values]  # a gap, not an axis down to 1e-12
        ax.plot(range(1, len(values) + 1), values, label=key, linestyle=LINE_STYLES[i % len(LINE_STYLES)],
                linewidth=max(0.8, 2.6 - 0.4 * i))  # later curves thinner: one drawn on top leaves a rim
    if log:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def feature_mosaic(features: torch.Tensor, channels: int | Sequence[int] = 16, ncols: int = 8,
                   size: float = 1.4, title: str | None = None) -> plt.Figure:
    """Feature maps of one image as a grid of small heatmaps, one per channel.

    features: (1, C, h, w) or (C, h, w). channels: how many to show (the most active ones,
    by mean activation) or a list of channel indices. Each map is scaled to its own range.
    """
    maps = features.detach().float().cpu()
    maps = maps[0] if maps.dim() == 4 else maps
    if maps.dim() != 3:
        raise ValueError(f"features: expected (1, C, h, w) or (C, h, w), got {tuple(features.shape)}")
    if isinstance(channels, int):
        channels = maps.mean(dim=(1, 2)).argsort(descending=True)[:channels].tolist()
    channels = list(channels)
    nrows = math.ceil(len(channels) / ncols)
    aspect = maps.shape[1] / maps.shape[2]
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * aspect * nrows + 0.3 * nrows + 0.3),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, c in zip(axes.flat, channels):
        ax.imshow(maps[c].numpy(), cmap="viridis")
        ax.set_title(f"#{c}", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def gram_heatmap(gram: torch.Tensor, labels: Sequence[str] | None = None, ax: plt.Axes | None = None,
                 title: str | None = None, annotate: bool | None = None,
                 vmin: float | None = None, vmax: float | None = None) -> plt.Axes:
    """A Gram matrix (C, C) or (1, C, C) as a heatmap with a colour bar.

    labels: one name per channel. annotate: write the values in the cells (default: if C <= 8).
    vmin, vmax: the colour scale's ends (default: the matrix's own range); fix them to compare
    several matrices.
    """
    g = gram.detach().float().cpu()
    g = g[0] if g.dim() == 3 else g
    if g.dim() != 2 or g.shape[0] != g.shape[1]:
        raise ValueError(f"gram: expected a square (C, C) matrix, got {tuple(gram.shape)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 3.0))
    shown = ax.imshow(g.numpy(), cmap="magma", vmin=vmin, vmax=vmax)
    low, high = shown.get_clim()
    ax.figure.colorbar(shown, ax=ax, fraction=0.046)
    c = g.shape[0]
    if labels is not None:
        ax.set_xticks(range(c), labels, rotation=45, ha="right")
        ax.set_yticks(range(c), labels)
    else:  # channel numbers, never half-integers
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("channel")
        ax.set_ylabel("channel")
    if annotate if annotate is not None else c <= 8:
        for i in range(c):
            for j in range(c):
                bright = g[i, j].item() > (low + high) / 2
                ax.text(j, i, f"{g[i, j].item():.3g}", ha="center", va="center", fontsize=8,
                        color="black" if bright else "white")
    if title:
        ax.set_title(title)
    return ax


def show_filters(filters: torch.Tensor, ncols: int = 16, size: float = 0.6) -> plt.Figure:
    """Convolution filters (N, 3, k, k), RGB order, as small colour tiles.

    Each filter is scaled so that 0 is mid-gray and its largest |weight| reaches black or white.
    """
    if filters.dim() != 4 or filters.shape[1] != 3:
        raise ValueError(f"filters: expected (N, 3, k, k), got {tuple(filters.shape)}")
    w = filters.detach().float().cpu()
    scale = w.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    tiles = (0.5 + 0.5 * w / scale).permute(0, 2, 3, 1).numpy()
    nrows = math.ceil(len(tiles) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, tile in zip(axes.flat, tiles):
        ax.imshow(tile, interpolation="nearest")
    fig.tight_layout(pad=0.2)
    return fig
