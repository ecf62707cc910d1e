"""The check for notebook 10's exercise: instance normalization (Ulyanov et al. 2016), the
operation inside every nn.InstanceNorm2d of the fast style-transfer network.

Like the other checks: small fixed inputs, the result compared with torch's own
F.instance_norm, known mistakes named in one line (AssertionError), a "✓" line on success.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .base import as_tensor, close, fail, function_name, known_mistake, randn, run_student

InstanceNorm = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor]

#: (B, C, H, W) of the check's batch. W == C, so that a weight and bias broadcast along the last
#: axis (the width) instead of the channels run without an error and can be named; H * W = 12 is
#: small, so that the sample variance (divided by H * W - 1) is visibly not the population one.
SHAPE = (3, 4, 3, 4)
#: eps passed to the function: larger than torch's default 1e-5 and near the variance of the
#: check's quiet channel, so that where eps goes (and whether the argument is used) shows.
EPS = 1e-3
WEIGHT = (1.5, -0.5, 2.0, 0.8)
BIAS = (0.3, -1.0, 0.5, 2.0)
#: How close the result must be to torch's: float32 rounding of other correct formulas is far below.
RTOL, ATOL = 1e-3, 1e-4


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x: every image and channel with its own mean and spread (channel 1 quiet, variance about
    4e-4, so that eps matters); the images' scales differ, so that batch statistics are not any
    image's own. weight and bias: one distinct value per channel. All three require grad."""
    image_scale = torch.tensor([0.5, 1.0, 3.0]).view(3, 1, 1, 1)
    channel_spread = torch.tensor([1.0, 0.02, 2.0, 0.7]).view(1, 4, 1, 1)
    offset = torch.tensor([[1.0, -2.0, 0.0, 4.0], [3.0, 0.5, -1.0, 2.0], [-1.5, 1.0, 2.5, -0.5]]).view(3, 4, 1, 1)
    x = (randn(*SHAPE, seed=100) * channel_spread * image_scale.sqrt() + offset * image_scale).requires_grad_()
    return x, torch.tensor(WEIGHT).requires_grad_(), torch.tensor(BIAS).requires_grad_()


def _normalized(x: torch.Tensor, dims: tuple[int, ...] = (2, 3), unbiased: bool = False,
                denominator: str = "inside", eps: float = EPS) -> torch.Tensor:
    """x minus its mean over `dims`, divided by one of the ways to write its spread."""
    var, mean = torch.var_mean(x, dim=dims, keepdim=True, unbiased=unbiased)
    spread = {"inside": lambda: (var + eps).sqrt(), "outside": lambda: var.sqrt() + eps,
              "none": lambda: var.sqrt(), "variance": lambda: var + eps}[denominator]()
    return (x - mean) / spread


def _affine(normalized: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return normalized * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)


def _mistakes(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    x, weight, bias = x.detach(), weight.detach(), bias.detach()
    own = "each image's each channel over its own positions, dim=(2, 3), keepdim=True"
    right = _normalized(x)
    var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, unbiased=False)
    return [
        (_affine(_normalized(x, (0, 2, 3)), weight, bias),
         f"took the mean and variance over the whole batch (dim 0 too): that is batch norm; instance norm takes {own}"),
        (_affine(_normalized(x, (1, 2, 3)), weight, bias),
         f"took the mean and variance over channels and positions together: that is layer norm; instance norm takes {own}"),
        (_affine(_normalized(x, (0, 1, 2, 3)), weight, bias),
         f"took the mean and variance over the whole tensor at once: instance norm takes {own}"),
        (_affine(_normalized(x, (2,)), weight, bias), f"normalized over the height only: {own}"),
        (_affine(_normalized(x, (3,)), weight, bias), f"normalized over the width only: {own}"),
        (_affine(_normalized(x, unbiased=True), weight, bias),
         "used the sample variance (divided by H*W - 1): instance norm uses the population variance, "
         "unbiased=False (or correction=0)"),
        (_affine(_normalized(x, denominator="outside"), weight, bias),
         "added eps outside the square root: divide by (var + eps).sqrt(), not var.sqrt() + eps"),
        (_affine(_normalized(x, denominator="none"), weight, bias),
         "left out eps: divide by (var + eps).sqrt(), so that a flat channel does not divide by zero"),
        (_affine(_normalized(x, eps=1e-5), weight, bias),
         "ignored the eps argument (a fixed 1e-5?): use the eps that is passed in"),
        (_affine(_normalized(x, denominator="variance"), weight, bias),
         "divided by the variance: take its square root, (var + eps).sqrt()"),
        (_affine((x - mean), weight, bias), "did not divide by the standard deviation, (var + eps).sqrt()"),
        (_affine(x / (var + EPS).sqrt(), weight, bias), "did not subtract the mean before dividing"),
        (right, "returned the normalized x without the affine step: multiply each channel by weight[c] and add bias[c]"),
        (right * weight.view(1, -1, 1, 1), "forgot to add bias"),
        (right + bias.view(1, -1, 1, 1), "forgot to multiply by weight"),
        (_affine(right, bias, weight), "swapped weight and bias: normalized * weight + bias"),
        ((right + bias.view(1, -1, 1, 1)) * weight.view(1, -1, 1, 1),
         "added bias before multiplying by weight: normalized * weight + bias"),
        (right * weight + bias,
         "applied weight and bias along the last axis (the width), not the channels: view them as (1, C, 1, 1)"),
        (x.detach(), "returned x unchanged"),
    ]


def _hint(error: Exception) -> str:
    if isinstance(error, TypeError) and "argument" in str(error):
        return "the function takes four arguments: instance_norm(x, weight, bias, eps)"
    if isinstance(error, RuntimeError) and "size" in str(error):
        return ("weight and bias have shape (C,): view them as (1, C, 1, 1), e.g. weight.view(1, -1, 1, 1), so "
                "that channel c gets weight[c] and bias[c]")
    return ""


def check_instance_norm(fn: InstanceNorm, show: bool = False) -> None:
    """fn(x (B, C, H, W), weight (C,), bias (C,), eps) must return what nn.InstanceNorm2d(C, affine=True)
    returns with those weight, bias and eps (torch's F.instance_norm), x's shape, without changing x;
    gradients must flow through the statistics. (show: nothing to draw.)"""
    name = function_name(fn, "instance_norm")
    x, weight, bias = _inputs()
    before = x.detach().clone()
    out = as_tensor(name, run_student(name, fn, x, weight, bias, EPS, hint=_hint))
    if not torch.equal(x.detach(), before):
        fail(name, "changed x in place: compute a new tensor (x - mean, not x -= mean or x.sub_(...))")
    expected = F.instance_norm(before, weight=weight.detach(), bias=bias.detach(), eps=EPS)
    if out.shape != expected.shape:
        fail(name, f"returned shape {tuple(out.shape)}, expected x's shape {tuple(x.shape)}: keep keepdim=True "
                    "on the statistics and return a tensor like x")
    if not torch.isfinite(out.detach()).all():
        fail(name, "returned NaN or inf: add eps to the variance before the square root, (var + eps).sqrt()")
    if not close(out, expected, rtol=RTOL, atol=ATOL):
        fail(name, known_mistake(out, _mistakes(x, weight, bias)) or
              f"the result differs from torch's F.instance_norm by up to {(out.detach() - expected).abs().max().item():.3g} "
              f"on the check's input: normalize each image's each channel over its own positions, then "
              f"normalized * weight[c] + bias[c]")
    if not out.requires_grad:
        fail(name, "the result is cut off from its inputs (it has no grad_fn): don't use .detach(), .item(), "
                    "torch.tensor(...) or torch.no_grad(); the network learns through this function")
    grad_x, grad_bias = torch.autograd.grad(out.sum(), [x, bias], allow_unused=True)
    if grad_bias is None or not close(grad_bias, torch.full_like(bias, x.numel() / x.shape[1])):
        fail(name, "no gradient (or the wrong one) reaches bias: the network learns bias, keep it in the graph")
    if grad_x is None:
        fail(name, "no gradient reaches x: don't .detach() x or compute under torch.no_grad()")
    # Each channel of the result sums to weight * 0 + bias * H * W whatever x is, so the gradient
    # of its sum with respect to x is zero -- unless the mean or the std was cut off the graph.
    if grad_x.abs().max().item() > 1e-3:
        fail(name, "the mean and standard deviation must stay in the graph: don't .detach() them or compute "
                    "them under torch.no_grad(), the gradient flows through them too")
    print(f"✓ {name}: each image's channels normalized over their own positions, then scaled and shifted "
          "per channel, as F.instance_norm does")
