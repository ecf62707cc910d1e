"""FourierImage: Lucid's decorrelated Fourier parameterization."""
import pytest
import torch

from nst_helpers.optimization.loop import optimize
from nst_helpers.canvas.parameterizations import FourierImage, Parameterization


def band_power(image: torch.Tensor, low: float, high: float) -> float:
    """Mean power of image - its mean at frequencies (cycles per pixel) in [low, high)."""
    height, width = image.shape[-2:]
    power = torch.fft.rfft2(image - image.mean(dim=(-2, -1), keepdim=True)).abs() ** 2
    f = (torch.fft.fftfreq(height)[:, None] ** 2 + torch.fft.rfftfreq(width)[None, :] ** 2).sqrt()
    band = (f >= low) & (f < high)
    return power[..., band].mean().item()


@pytest.mark.parametrize("height, width", [(16, 16), (17, 23), (24, 9)])
def test_shapes_and_range(height, width):
    param = FourierImage(height, width)
    assert isinstance(param, Parameterization)
    assert [tuple(p.shape) for p in param.parameters()] == [(1, 3, height, width // 2 + 1, 2)]
    image = param()
    assert image.shape == (1, 3, height, width) and image.dtype == torch.float32
    assert 0 < image.min() and image.max() < 1


@pytest.mark.parametrize("height, width", [(16, 16), (17, 23)])
def test_init_round_trip(height, width):
    init = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(1))
    init[..., 0, 0], init[..., 1, 1] = 0.0, 1.0  # the extremes are clamped before the logit
    image = FourierImage(height, width, init=init)()
    assert (image - init.clamp(1e-3, 1 - 1e-3)).abs().max() < 1e-4


def test_adam_moves_it_toward_a_target():
    target = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    param = FourierImage(16, 16)
    start = torch.mean((param().detach() - target) ** 2).item()
    result = optimize(lambda image: {"mse": torch.mean((image - target) ** 2)}, param, steps=30,
                      optimizer="adam", lr=0.05, progress=False)
    assert result.history["mse"][-1] < 0.5 * start
    assert torch.mean((param().detach() - target) ** 2).item() < 0.5 * start


def test_high_frequencies_are_damped():
    """decay=1 gives noise whose power falls with frequency; decay=0 (same seed) is white noise."""
    smooth = FourierImage(64, 64, decay=1.0, seed=3)().detach()
    white = FourierImage(64, 64, decay=0.0, seed=3)().detach()
    ratio_smooth = band_power(smooth, 0.0, 0.1) / band_power(smooth, 0.3, 1.0)
    ratio_white = band_power(white, 0.0, 0.1) / band_power(white, 0.3, 1.0)
    assert ratio_smooth > 10
    assert 0.5 < ratio_white < 2


def test_colours_are_correlated_like_natural_images():
    """Independent noise in decorrelated space comes out as mostly grey noise in RGB."""
    noise = FourierImage(32, 32, decay=0.0, seed=4)().detach()[0].reshape(3, -1)
    correlation = torch.corrcoef(noise)
    assert correlation[0, 1] > 0.7 and correlation[1, 2] > 0.7


def test_same_seed_same_image_and_project_changes_nothing():
    a, b = FourierImage(16, 16, seed=5), FourierImage(16, 16, seed=5)
    assert torch.equal(a(), b())
    assert not torch.equal(a(), FourierImage(16, 16, seed=6)())
    with torch.no_grad():
        a.spectrum.mul_(100)  # would push pixels far past what a pixel image may hold
    before = a.spectrum.detach().clone()
    a.project_()
    assert torch.equal(a.spectrum, before)


@pytest.mark.parametrize("kwargs, match", [
    ({"height": 0, "width": 8}, "height must be a positive integer"),
    ({"height": 8, "width": 2.5}, "width must be a positive integer"),
    ({"height": 8, "width": 8, "decay": -1.0}, "decay must be a finite number >= 0"),
    ({"height": 8, "width": 8, "scale": -0.1}, "scale must be a finite number >= 0"),
    ({"height": 8, "width": 8, "init": torch.rand(3, 8, 8)}, r"init: expected shape \(1, 3, 8, 8\)"),
    ({"height": 8, "width": 8, "init": torch.rand(1, 3, 8, 9)}, r"init: expected shape \(1, 3, 8, 8\)"),
])
def test_bad_arguments_are_one_line_errors(kwargs, match):
    with pytest.raises(ValueError, match=match) as error:
        FourierImage(**kwargs)
    assert "\n" not in str(error.value)
