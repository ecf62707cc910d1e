from pathlib import Path

import pytest
import torch

import nst_helpers as nh

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


@pytest.fixture(scope="session")
def vgg() -> nh.VGG19Features:
    """The default extractor (original weights, avg pooling, CPU, fp32 for exact comparisons)."""
    return nh.VGG19Features(device="cpu", precision="fp32")


@pytest.fixture(scope="session")
def content64() -> torch.Tensor:
    return nh.load_image(DATA / "content" / "tubingen.jpg", max_size=64)


@pytest.fixture(scope="session")
def style64() -> torch.Tensor:
    return nh.load_image(DATA / "style" / "starry_night.jpg", max_size=64)
