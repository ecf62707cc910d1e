"""Ways to describe the image being optimized (Lucid's "param").

A parameterization owns some tensors to optimize and turns them into an RGB image
(1, 3, H, W) in [0, 1] on every call. The optimization loop only needs:
``parameters()``, ``__call__()`` and ``project_()`` (keep the parameters valid after a step).
"""
from __future__ import annotations

import torch

from ..core.validation import check_int


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


#: Lucid's `color_correlation_svd_sqrt`: the square root of ImageNet's RGB colour covariance.
#: Column 0 is roughly brightness, columns 1 and 2 are colour differences.
COLOUR_CORRELATION_SVD_SQRT = torch.tensor([[0.26, 0.09, 0.02],
                                            [0.27, 0.00, -0.05],
                                            [0.27, -0.09, 0.03]])


def colour_matrix() -> torch.Tensor:
    """(3, 3) matrix taking decorrelated colours to RGB: Lucid's matrix over its largest column norm."""
    return COLOUR_CORRELATION_SVD_SQRT / COLOUR_CORRELATION_SVD_SQRT.norm(dim=0).max()


def frequency_scale(height: int, width: int, decay: float) -> torch.Tensor:
    """(height, width // 2 + 1) factors 1 / max(f, 1 / max(height, width)) ** decay for the rFFT
    grid, f the frequency in cycles per pixel: low frequencies get large factors, so a step of the
    same size on every coefficient changes every frequency of the image by a similar amount."""
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.rfftfreq(width)[None, :]
    frequency = (fx ** 2 + fy ** 2).sqrt()
    return 1.0 / frequency.clamp(min=1.0 / max(height, width)) ** decay


class FourierImage(Parameterization):
    """Lucid's decorrelated Fourier parameterization (Olah et al., "Differentiable image
    parameterizations", Distill 2018).

    The optimizer changes `self.spectrum`, a real tensor (1, 3, H, W // 2 + 1, 2) holding the
    real and imaginary parts of the image's 2-D rFFT in decorrelated colour space.
    Image = sigmoid(colour_matrix() @ irfft2(spectrum * frequency_scale)), (1, 3, H, W) in (0, 1).
    The FFT is orthonormal (Lucid's sqrt(H * W) factor); Lucid's extra division by 4 is left out.

    init: an image (1, 3, height, width) in [0, 1] to start from (clamped to [1e-3, 1 - 1e-3]
    first, so the logit is finite); without it the spectrum is Gaussian noise with standard
    deviation `scale`, drawn from `seed`, which gives a grey image with faint, smooth noise.
    decay: >= 0; 1 is Lucid's default, 0 scales all frequencies alike.
    """

    def __init__(self, height: int, width: int, *, init: torch.Tensor | None = None, decay: float = 1.0,
                 scale: float = 0.01, seed: int = 0, device: torch.device | str | None = None) -> None:
        check_int(height, "height")
        check_int(width, "width")
        if not (isinstance(decay, (int, float)) and 0 <= decay < float("inf")):
            raise ValueError(f"decay must be a finite number >= 0, got {decay!r}")
        if not (isinstance(scale, (int, float)) and 0 <= scale < float("inf")):
            raise ValueError(f"scale must be a finite number >= 0, got {scale!r}")
        self.size = (height, width)
        self.freq_scale = frequency_scale(height, width, decay).to(device)
        self.colour = colour_matrix().to(device)
        if init is None:
            generator = torch.Generator().manual_seed(seed)
            spectrum = scale * torch.randn(1, 3, height, width // 2 + 1, 2, generator=generator)
        else:
            spectrum = self._spectrum_of(init)
        self.spectrum = spectrum.to(device).contiguous().requires_grad_(True)
        self.params = [self.spectrum]

    def _spectrum_of(self, init: torch.Tensor) -> torch.Tensor:
        """The spectrum whose image is `init`: each step of __call__ undone, in float64."""
        if not isinstance(init, torch.Tensor) or tuple(init.shape) != (1, 3, *self.size):
            shape = tuple(init.shape) if isinstance(init, torch.Tensor) else type(init).__name__
            raise ValueError(f"init: expected shape (1, 3, {self.size[0]}, {self.size[1]}), got {shape}")
        if not torch.isfinite(init).all():
            raise ValueError("init: contains NaN or inf")
        logits = torch.logit(init.detach().cpu().double().clamp(1e-3, 1 - 1e-3))
        decorrelated = torch.einsum("ij,njhw->nihw", torch.linalg.inv(self.colour.cpu().double()), logits)
        spectrum = torch.fft.rfft2(decorrelated, norm="ortho") / self.freq_scale.cpu().double()
        return torch.view_as_real(spectrum).float()

    def __call__(self) -> torch.Tensor:
        spectrum = torch.view_as_complex(self.spectrum) * self.freq_scale
        decorrelated = torch.fft.irfft2(spectrum, s=self.size, norm="ortho")
        return torch.sigmoid(torch.einsum("ij,njhw->nihw", self.colour, decorrelated))

    def project_(self) -> None:
        """Nothing to do: the sigmoid keeps every pixel in (0, 1)."""
