"""The one set-up: Gatys, AdaIN and patch transfer take the same network choices, and use them."""
import pytest
import torch

import nst_helpers as nh
from nst_helpers.core.weights import load_original

METHODS = {"gatys": nh.style_transfer, "adain": nh.adain_transfer, "patches": nh.patch_transfer}
FAST = dict(steps=3, device="cpu", precision="fp32", progress=False)


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory):
    """The original weights saved as a file, and a copy with conv3_1's filters halved."""
    folder = tmp_path_factory.mktemp("weights")
    state = load_original().state_dict
    same, other = folder / "same.pth", folder / "other.pth"
    torch.save(state, same)
    torch.save({**state, "conv3_1.weight": state["conv3_1.weight"] * 0.5}, other)
    return same, other


@pytest.mark.parametrize("method", sorted(METHODS))
def test_pooling_and_weights_reach_the_network(method, content64, style64, weight_files):
    run = METHODS[method]
    content, style = content64[..., :48, :48], style64[..., :48, :48]
    default = run(content, style, **FAST).image
    same, other = weight_files
    assert torch.allclose(run(content, style, weights=same, **FAST).image, default, atol=1e-5)
    changed = {"max pooling": run(content, style, pooling="max", **FAST).image,
               "other weights": run(content, style, weights=other, **FAST).image}
    for what, image in changed.items():
        assert (image - default).abs().mean() > 1e-4, f"{method}: {what} did not change the result"


@pytest.mark.parametrize("method", sorted(METHODS))
def test_the_set_up_refuses_a_factory_optimizer(method, content64, style64):
    with pytest.raises(ValueError, match=r"a transfer takes 'lbfgs' or 'adam'|optimizer must be one of \('lbfgs', 'adam'\)"):
        METHODS[method](content64, style64, optimizer=lambda params, lr: torch.optim.SGD(params, lr), **FAST)
