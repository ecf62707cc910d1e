"""Checks for notebook 04 and 07: the Gram matrix and the masked Gram matrix."""
from __future__ import annotations

from typing import Callable

import torch

from ...core.losses import gram_matrix
from .base import as_tensor, close, fail, function_name, known_mistake, randn, require_gradient, run_student

# ---------------------------------------------------------------------------- Gram matrix

def _gram_shape(name: str, out: torch.Tensor, shape: torch.Size) -> None:
    n, c, h, w = shape
    if out.shape == (n, c, c):
        return
    if out.shape[-2:] == (h * w, h * w):
        fail(name, f"multiplied the wrong way round: shape {tuple(out.shape)} is positions x positions "
                    "(H*W x H*W); the Gram matrix is channels x channels, flat @ flat.transpose(1, 2) "
                    "with flat of shape (N, C, H*W)")
    if out.shape == (c, c):
        fail(name, f"returned shape {tuple(out.shape)} for features of shape {tuple(shape)}: keep the "
                    f"batch axis, expected (N, C, C) = {(n, c, c)}; reshape to (N, C, H*W) and use "
                    "flat @ flat.transpose(1, 2)")
    fail(name, f"returned shape {tuple(out.shape)} for features of shape {tuple(shape)}, "
                f"expected (N, C, C) = {(n, c, c)}")


def _gram_values(name: str, out: torch.Tensor, expected: torch.Tensor, shape: torch.Size) -> None:
    n, c, h, w = shape
    if close(out, expected):
        return
    out, expected = out.detach().double().cpu(), expected.double()
    factor = float((out * expected).sum() / (expected * expected).sum())  # out ~ factor * expected
    divide = f"divide by C*H*W (here {c}*{h}*{w} = {c * h * w}), so that the values do not depend on the layer's size"
    normalized = {
        c * h * w: f"the result is not normalized: {divide}",
        c: f"the result is divided by H*W only: {divide}",
        h * w: f"the result is divided by C only: {divide}",
        h * w / c: f"the result is divided by C*C: {divide}",
        1 / n: "the result is divided by N*C*H*W, the batch size too: divide each image's products by its own C*H*W",
    }
    for scale, message in normalized.items():
        if scale != 1 and close(out, scale * expected):
            fail(name, message)
    if close(out, factor * expected):
        fail(name, f"your values are {factor:.4g} times the expected ones: divide the products by "
                    f"C*H*W (here {c * h * w}) and nothing else")
    if n > 1:
        fail(name, "right for one image but wrong for a batch of two: compute each image's Gram "
                    "matrix from its own features (flat @ flat.transpose(1, 2) with flat (N, C, H*W))")
    fail(name, f"wrong values (largest difference {float((out - expected).abs().max()):.3g}): entry "
                "(i, j) is the sum over all positions of channel i times channel j, divided by C*H*W")


def check_gram(fn: Callable[[torch.Tensor], torch.Tensor], show: bool = False) -> None:
    """fn(features (N, C, H, W)) must return the Gram matrices (N, C, C), divided by C*H*W.

    show: draw the Gram matrix your function computed as a heatmap.
    """
    name = function_name(fn, "gram_matrix")
    features = randn(1, 4, 6, 5, seed=0).requires_grad_()
    out = as_tensor(name, run_student(name, fn, features))
    _gram_shape(name, out, features.shape)
    _gram_values(name, out, gram_matrix(features.detach()), features.shape)
    require_gradient(name, out, {"the features": features})
    single = out.detach()

    batch = randn(2, 4, 6, 5, seed=1)
    out = as_tensor(name, run_student(name, fn, batch, hint=lambda e: "it works for one image but not for a "
                                                          "batch of two: reshape with N from features.shape"))
    _gram_shape(name, out, batch.shape)
    _gram_values(name, out, gram_matrix(batch), batch.shape)
    print(f"✓ {name}: shape (N, C, C), values, normalization, batches and gradients are right")
    if show:
        from ...notebook.plots import gram_heatmap
        gram_heatmap(single[0], title=f"{name} of random 4-channel features")


# ---------------------------------------------------------------------------- masked Gram matrix

def check_masked_gram(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], show: bool = False) -> None:
    """fn(features (1, C, h, w), mask (1, 1, H, W) in [0, 1]) must return the Gram matrix (1, C, C)
    of the masked features only: mask resized to h x w, features times mask, products divided by
    C times the mask's area at h x w. (show: draw the mask and the two halves' Gram matrices.)"""
    name = function_name(fn, "masked_gram_matrix")
    c, h, w = 4, 6, 8
    left = randn(1, c, h, w // 2, seed=10)
    right = 3 + 2 * randn(1, c, h, w // 2, seed=11)  # a different "texture" on the right half
    features = torch.cat([left, right], dim=-1).requires_grad_()
    mask = torch.zeros(1, 1, 2 * h, 2 * w)
    mask[..., : w] = 1  # the left half, at twice the features' resolution
    out = as_tensor(name, run_student(name, fn, features, mask, hint=lambda e: "resize the mask to the features' "
                                                                     "h x w first (F.interpolate)"))
    if out.shape != (1, c, c):
        fail(name, f"returned shape {tuple(out.shape)}, expected (1, C, C) = {(1, c, c)}")
    expected = gram_matrix(left)
    unmasked = "the mask is not applied: multiply the features by the mask before the products"
    mistakes = [
        (gram_matrix(features.detach()), unmasked),
        (2 * gram_matrix(features.detach()), unmasked),  # divided by the half-image area
        (expected / 2, "divided by C*h*w of the whole image: divide by C times the mask's area "
                       "(mask.sum() at the features' size), so a region gets the scale of a whole image"),
        (expected * (h * w // 2) / c, "divided by the mask's area only: divide by C times the area"),
    ]
    if not close(out, expected, rtol=1e-3, atol=1e-5):
        fail(name, known_mistake(out, mistakes) or
              f"wrong values (largest difference {float((out.detach() - expected).abs().max()):.3g}); with the "
              "left-half mask the result must equal the Gram matrix of the left half alone")
    require_gradient(name, out, {"the features": features})
    print(f"✓ {name}: the mask is resized and applied, and the region's Gram matrix has a whole image's scale")
    if show:
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 3, figsize=(9, 2.8))
        axes[0].imshow(mask[0, 0], cmap="gray", vmin=0, vmax=1)
        axes[0].set_title("mask: left half 1 (white)")
        for ax, g, title in ((axes[1], out.detach()[0], "yours: masked"), (axes[2], gram_matrix(right)[0], "right half")):
            fig.colorbar(ax.imshow(g, cmap="viridis"), ax=ax, fraction=0.046)
            ax.set_title(title)
        for ax in axes:
            ax.set_xticks([]), ax.set_yticks([])
        plt.show()


# The checks of notebooks 06-09 live in their own files; importing them here makes every check
# reachable as nh.checks.check_* (which is also how the grader finds them).
