"""The optimizers the loop can run, by name, and the one DeepDream uses.

`optimize` takes a name from OPTIMIZERS or a factory ``factory(params, lr) -> torch.optim.Optimizer``
(for example `NormalizedGradient` itself).
"""
from __future__ import annotations

import math
from typing import Callable, Iterable, Union

import torch

OPTIMIZERS = ("lbfgs", "adam")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
#: Steps L-BFGS remembers. 20 ends within 0.3 % of 50 (and of 100) after 200-500 steps
#: (benchmarks/README.md), costs 40 image-sized buffers instead of 100, and on a GPU, where
#: torch's L-BFGS waits for the device once per remembered step, it is 1.5x faster per step.
LBFGS_HISTORY = 20

#: factory(params, lr) -> an optimizer over params.
OptimizerFactory = Callable[[list[torch.Tensor], float], torch.optim.Optimizer]
OptimizerChoice = Union[str, OptimizerFactory]


class NormalizedGradient(torch.optim.Optimizer):
    """Gradient descent with the gradient divided by its mean absolute value: every step moves
    the average parameter by `lr`, however large the gradient is (DeepDream's step)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float) -> None:
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(group["lr"] * p.grad / (p.grad.abs().mean() + 1e-8))
        return loss


def check_optimizer(optimizer: OptimizerChoice) -> None:
    """Raise ValueError unless `optimizer` is a name in OPTIMIZERS or a factory function."""
    if not (optimizer in OPTIMIZERS or (callable(optimizer) and not isinstance(optimizer, str))):
        raise ValueError(f"optimizer must be one of {OPTIMIZERS} or a function (params, lr) -> "
                         f"torch.optim.Optimizer, got {optimizer!r}")


def check_lr(lr: float | None, optimizer: OptimizerChoice) -> float:
    """The learning rate to use: `lr`, or the named optimizer's default; ValueError if neither works."""
    if lr is None:
        if not isinstance(optimizer, str):
            raise ValueError("lr: give a learning rate when the optimizer is a factory")
        return DEFAULT_LR[optimizer]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    return float(lr)


def make_optimizer(optimizer: OptimizerChoice, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    """A fresh optimizer over `params`. L-BFGS makes one function evaluation per step and never
    stops early, so it runs exactly the steps asked for."""
    if optimizer == "lbfgs":
        return torch.optim.LBFGS(params, lr=lr, max_iter=1, history_size=LBFGS_HISTORY,
                                 tolerance_grad=-1.0, tolerance_change=-1.0)
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr)
    return optimizer(params, lr)
