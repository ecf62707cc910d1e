"""Ways to describe the image being optimized (Lucid's "param").

A parameterization owns some tensors to optimize and turns them into an RGB image
(1, 3, H, W) in [0, 1] on every call. The optimization loop only needs:
``parameters()``, ``__call__()`` and ``project_()`` (keep the parameters valid after a step).
"""
from __future__ import annotations

import torch


class Parameterization:
    """Base class: the tensors in ``self.params`` are what the optimizer changes."""

    params: list[torch.Tensor]

    def parameters(self) -> list[torch.Tensor]:
        return self.params

    def __call__(self) -> torch.Tensor:
        raise NotImplementedError

    def project_(self) -> None:
        """Called after each optimizer step; by default nothing needs fixing."""



class PixelImage(Parameterization):
    """The pixels themselves, kept in [0, 1] by clamping after every step.

    init: (1, 3, H, W) in [0, 1]; it is copied, never changed.
    """

    def __init__(self, init: torch.Tensor) -> None:
        if init.dim() != 4 or init.shape[:2] != (1, 3):
            raise ValueError(f"init: expected shape (1, 3, H, W), got {tuple(init.shape)}")
        self.pixels = init.detach().clone().float().clamp_(0, 1).requires_grad_(True)
        self.params = [self.pixels]

    def __call__(self) -> torch.Tensor:
        return self.pixels

    def project_(self) -> None:
        with torch.no_grad():
            self.pixels.clamp_(0, 1)
