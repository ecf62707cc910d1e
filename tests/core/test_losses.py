import pytest
import torch

import nst_helpers as nh


def test_gram_shape_normalization_and_symmetry():
    f = torch.randn(2, 8, 5, 7)
    g = nh.gram_matrix(f)
    assert g.shape == (2, 8, 8)
    assert torch.allclose(g, g.transpose(1, 2))
    flat = f[0].reshape(8, -1)
    assert torch.allclose(g[0], flat @ flat.T / (8 * 5 * 7), atol=1e-6)


def test_gram_ignores_position_under_circular_shift():
    f = torch.randn(1, 16, 12, 12)
    shifted = torch.roll(f, shifts=(5, -3), dims=(2, 3))
    assert not torch.allclose(f, shifted)
    assert torch.allclose(nh.gram_matrix(f), nh.gram_matrix(shifted), atol=1e-6)


def test_gram_is_independent_of_image_size():
    f = torch.randn(1, 16, 6, 9)
    tiled = f.repeat(1, 1, 3, 2)  # same statistics, six times the area
    assert torch.allclose(nh.gram_matrix(f), nh.gram_matrix(tiled), atol=1e-6)


def test_content_loss_is_zero_at_target_and_weighted():
    t = {"a": torch.randn(1, 4, 3, 3), "b": torch.randn(1, 4, 3, 3)}
    assert nh.content_loss(t, t).item() == 0
    x = {"a": t["a"] + 1, "b": t["b"]}
    assert nh.content_loss(x, t, {"a": 2.0, "b": 5.0}).item() == pytest.approx(2.0)
    assert nh.content_loss(x, t, kind="l1").item() == pytest.approx(0.5)


def test_style_loss_uses_grams_and_layer_weights():
    f = {"a": torch.randn(1, 4, 6, 6)}
    target = {"a": nh.gram_matrix(torch.roll(f["a"], 2, dims=3))}
    assert nh.style_loss(f, target).item() == pytest.approx(0, abs=1e-10)
    other = {"a": nh.gram_matrix(torch.randn(1, 4, 6, 6))}
    expected = torch.nn.functional.mse_loss(nh.gram_matrix(f["a"]), other["a"])
    assert nh.style_loss(f, other, {"a": 3.0}).item() == pytest.approx(3 * expected.item(), rel=1e-5)


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_bad_layer_weights_are_rejected(bad):
    f = {"a": torch.randn(1, 4, 3, 3)}
    with pytest.raises(ValueError, match="'a' must be >= 0"):
        nh.content_loss(f, f, {"a": bad})
    with pytest.raises(ValueError, match="no weight given for layer 'a'"):
        nh.style_loss(f, {"a": torch.zeros(1, 4, 4)}, {"b": 1.0})


def test_tv_loss():
    flat = torch.full((1, 3, 8, 8), 0.3)
    assert nh.tv_loss(flat).item() == 0
    stripes = torch.zeros(1, 3, 8, 8)
    stripes[..., ::2] = 1.0  # every horizontal neighbour differs by 1, vertical ones by 0
    assert nh.tv_loss(stripes, "l1").item() == pytest.approx(1.0)
    assert nh.tv_loss(stripes, "mse").item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="kind"):
        nh.tv_loss(flat, "l3")
