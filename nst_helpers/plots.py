"""Pictures: labelled image grids and loss curves with matplotlib."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import torch

from .images import to_pil


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


def plot_losses(history: Mapping[str, Sequence[float]], keys: Sequence[str] | None = None,
                log: bool = True, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Loss curves, one line per history key (default: all but "total" if others exist)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    keys = list(keys) if keys is not None else [k for k in history if k != "total" or len(history) == 1]
    for key in keys:
        values = history[key]
        if log and any(v <= 0 for v in values):
            values = [max(v, 1e-12) for v in values]
        ax.plot(range(1, len(values) + 1), values, label=key)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title)
    ax.legend()
    return ax
