"""The check for notebook 04's second exercise: shuffle the positions of a feature map, the
operation the Gram matrix cannot see.

The student's function must move whole position vectors (all C channels of a position together)
to new places; the Gram matrix, which only multiplies channels at the same position, then stays
exactly the same. The check runs it on random features and says which kind of shuffle it did
instead (one line, AssertionError), or prints a "✓" line.
"""
from __future__ import annotations

from typing import Callable

import torch

from ...core.losses import gram_matrix
from .base import as_tensor, close, fail, function_name, randn, require_gradient, run_student

Shuffle = Callable[[torch.Tensor, int], torch.Tensor]
#: A shuffle must move at least this share of the positions.
MOVED = 0.5


def _matching(out: torch.Tensor, features: torch.Tensor) -> list[torch.Tensor] | None:
    """For each image: which input position each output position's channel vector comes from, or
    None when some output position holds no input position's vector."""
    n, c, h, w = features.shape
    found = []
    for i in range(n):
        given = features[i].reshape(c, h * w).T
        got = out[i].reshape(c, h * w).T
        distance, index = torch.cdist(got.double(), given.double()).min(dim=1)
        if bool((distance > 1e-5 * given.norm(dim=1).max()).any()):
            return None
        found.append(index)
    return found


def _diagnose(out: torch.Tensor, features: torch.Tensor) -> str:
    """What a result that is not a shuffle of the positions did instead."""
    n, c, h, w = features.shape
    flat_in, flat_out = features.reshape(n, c, h * w), out.reshape(n, c, h * w)
    if close(flat_out.sort(dim=2).values, flat_in.sort(dim=2).values):
        return ("shuffled each channel on its own: a position's C values must move together (one permutation "
                "for all channels), otherwise channels that fired together no longer do and the Gram matrix changes")
    if close(out.sort(dim=1).values, features.sort(dim=1).values):
        return "shuffled the channels, not the positions: permute the H*W positions, the last axis of (N, C, H*W)"
    if close(out.reshape(n, -1).sort(dim=1).values, features.reshape(n, -1).sort(dim=1).values):
        return ("moved the numbers but not whole positions: reshape to (N, C, H*W) (or use .permute, not "
                ".reshape, to get (N, H*W, C)) and index the positions axis")
    if n > 1 and close(out.sort(dim=0).values, features.sort(dim=0).values):
        return "shuffled the images of the batch: shuffle the positions within each image"
    return "the result holds values that are not the input's: only move the positions, do not compute new values"


def check_shuffle_positions(fn: Shuffle, show: bool = False) -> None:
    """fn(features (N, C, H, W), seed) must return the features with their H*W positions shuffled at
    random: the same shape, every position's channel vector moved whole to a new position, the same
    seed giving the same shuffle and another seed another one. Its Gram matrix is then exactly the
    input's. Gradients must reach the features.
    show: draw one channel before and after, and both Gram matrices."""
    name = function_name(fn, "shuffle_positions")
    features = randn(2, 5, 6, 7, seed=90).requires_grad_()
    given = features * 1.0  # not a leaf, so that an in-place change runs and can be told apart
    out = as_tensor(name, run_student(name, fn, given, 0))
    x = features.detach()
    if not torch.equal(given.detach(), x):
        fail(name, "changed the features in place: return a new tensor")
    if out.shape != x.shape:
        fail(name, f"returned shape {tuple(out.shape)}, expected the input's {tuple(x.shape)}: reshape back to "
                    "(N, C, H, W) at the end")
    if torch.equal(out.detach(), x):
        fail(name, "returned the features unchanged: move the positions, e.g. with torch.randperm(H * W)")
    matched = _matching(out.detach(), x)
    if matched is None:
        fail(name, _diagnose(out.detach(), x))
    for i, index in enumerate(matched):
        if len(set(index.tolist())) != index.numel():
            fail(name, f"image {i}: some positions appear twice and others not at all: use a permutation, "
                        "torch.randperm(H * W), not random indices")
        moved = float((index != torch.arange(index.numel())).float().mean())
        if moved < MOVED:
            fail(name, f"image {i}: only {moved:.0%} of the positions moved: shuffle all of them")
    again = as_tensor(name, run_student(name, fn, x.clone(), 0)).detach()
    if not torch.equal(again, out.detach()):
        fail(name, "two calls with the same seed gave different shuffles: draw the permutation with "
                    "torch.Generator().manual_seed(seed)")
    other = as_tensor(name, run_student(name, fn, x.clone(), 1)).detach()
    if torch.equal(other, out.detach()):
        fail(name, "seeds 0 and 1 gave the same shuffle: draw the permutation from a generator seeded with `seed`")
    if not close(gram_matrix(out.detach()), gram_matrix(x), rtol=1e-4, atol=1e-6):
        fail(name, "the Gram matrix changed: move whole positions, nothing else")
    require_gradient(name, out, {"the features": features})
    print(f"✓ {name}: whole positions moved, seeded; the Gram matrix is unchanged")
    if show:
        _show(x, out.detach())


def _show(features: torch.Tensor, shuffled: torch.Tensor) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(11, 2.6))
    panels = [(features[0, 0], "channel 0 before"), (shuffled[0, 0], "channel 0 shuffled"),
              (gram_matrix(features)[0], "Gram before"), (gram_matrix(shuffled)[0], "Gram shuffled")]
    for ax, (values, title) in zip(axes, panels):
        fig.colorbar(ax.imshow(values.numpy(), cmap="viridis"), ax=ax, fraction=0.046)
        ax.set_title(title)
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
