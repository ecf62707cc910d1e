"""Image measures for claims: each one rises with what it measures, on images built to show it."""
import pytest
import torch

import nst_helpers as nh
from nst_helpers.core import measures as M

from conftest import DATA


@pytest.fixture(scope="module")
def photo():
    return nh.load_image(DATA / "content" / "tubingen.jpg", max_size=128)[..., :96, :128]


@pytest.fixture(scope="module")
def painting():
    return nh.load_image(DATA / "style" / "starry_night.jpg", max_size=128)


def test_high_frequency_energy_rises_with_noise_and_falls_with_blur(photo):
    noisy = (photo + 0.1 * torch.randn(photo.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    blurred = nh.transforms.gaussian_blur(2.0)(photo)
    energy = {name: M.high_frequency_energy(image) for name, image in
              {"photo": photo, "noisy": noisy, "blurred": blurred}.items()}
    assert energy["blurred"] < 0.5 * energy["photo"] < energy["photo"] < 0.5 * energy["noisy"]
    assert 0 <= energy["blurred"] and energy["noisy"] <= 1
    flat = torch.full((1, 3, 32, 32), 0.3)
    assert M.high_frequency_energy(flat) == 0.0


def test_periodic_energy_finds_a_checkerboard_and_a_tile_grid(photo):
    yy, xx = torch.meshgrid(torch.arange(96), torch.arange(128), indexing="ij")
    checker = (photo + 0.03 * ((yy + xx) % 2).float()).clamp(0, 1)
    grid = photo.clone()
    grid[..., ::16] *= 0.85
    grid[..., ::16, :] *= 0.85
    assert M.periodic_energy(checker, 2) > 20 * M.periodic_energy(photo, 2)
    assert M.periodic_energy(grid, 16) > 2 * M.periodic_energy(photo, 16)
    assert M.periodic_energy(photo, 16) < 2
    with pytest.raises(ValueError, match="period: 7 does not divide the image's 128x96"):
        M.periodic_energy(photo, 7)


def test_colour_distance_ignores_lightness_and_sees_the_palette(photo, painting):
    grey = photo.mean(dim=1, keepdim=True).expand_as(photo).contiguous()
    assert M.colour_distance(photo, photo) == 0.0
    assert M.colour_distance(grey, 0.5 * grey) < 1  # lightness alone does not count
    assert M.colour_distance(photo, painting) > 3 * M.colour_distance(photo, 0.9 * photo)
    assert M.colour_distance(grey, painting) > M.colour_distance(photo, painting)


def test_reference_losses_are_zero_for_a_perfect_match_and_fixed_whatever_the_run(photo, painting):
    same = M.reference_losses(photo, photo, painting)
    assert same["content"] == 0.0 and same["style"] > 0
    painted = nh.resize(painting, tuple(photo.shape[-2:]))
    other = M.reference_losses(painted, photo, painting)
    assert other["content"] > 0.5 and other["style"] < 0.2 * same["style"]
    # the run's own extractor (max pooling, bf16 or not) does not change the yardstick
    nh.get_extractor("original", "max", "cpu", "fp32")
    assert M.reference_losses(painted, photo, painting) == other
    with pytest.raises(ValueError, match="image: shape"):
        M.reference_losses(photo[..., :64, :64], photo, painting)
