import pytest
import torch
import torch.nn.functional as F

import nst_helpers as nh
from nst_helpers.recipes import tiling
from nst_helpers.optimization.loop import OptimizationResult
from nst_helpers.core.losses import gram_matrix, style_loss
from nst_helpers.recipes.tiling import seam_score, tile_spans, tiled_style_transfer

from conftest import DATA

SETTINGS = dict(base_size=64, tile=48, overlap=16, steps=15, base_steps=10,
                settings=nh.TransferSettings(device="cpu"), progress=False)
STRIDE = SETTINGS["tile"] - SETTINGS["overlap"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """48 px tiles make tiny kernels. On a busy 2-core machine the two tiled passes below took
    18 s with one thread and 323 s with two (threads wait for each other at every op)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def content128() -> torch.Tensor:
    return nh.load_image(DATA / "content" / "tubingen.jpg", max_size=128)  # 128 x 96


@pytest.fixture(scope="module")
def runs(content128, style64) -> dict[bool, nh.OptimizationResult]:
    """The tiled pass with a moving grid (True) and with a fixed one (False)."""
    return {shift: tiled_style_transfer(content128, style64, shift_tiles=shift, **SETTINGS) for shift in (True, False)}


def smooth_noise(size: int = 192, seed: int = 0) -> torch.Tensor:
    """Random noise blurred by a Gaussian: smooth, and alike everywhere (no grid in it)."""
    noise = torch.rand(1, 3, size + 16, size + 16, generator=torch.Generator().manual_seed(seed))
    x = torch.arange(-8, 9, dtype=torch.float32)
    g = torch.exp(-x**2 / (2 * 3.0**2))
    g = g / g.sum()
    noise = F.conv2d(noise, g.view(1, 1, 1, -1).repeat(3, 1, 1, 1), groups=3)
    return F.conv2d(noise, g.view(1, 1, -1, 1).repeat(3, 1, 1, 1), groups=3)


def test_seam_score_is_about_one_without_seams_and_large_with_them():
    image = smooth_noise()
    assert 0.9 < seam_score(image, 32) < 1.1
    assert 0.9 < seam_score(image, 32, offset=16) < 1.1
    y, x = torch.meshgrid(torch.arange(192), torch.arange(192), indexing="ij")
    blocks = image + 0.05 * ((y // 32 + x // 32) % 2)  # each 32 x 32 block brighter or darker
    assert seam_score(blocks, 32) > 3
    assert seam_score(blocks, 32, offset=16) < 1, "midway between the borders there are no seams"


def test_tile_spans_cover_everything_and_move_with_the_offset():
    for length in (16, 40, 96, 128, 333):
        for tile, overlap in ((48, 16), (48, 0), (64, 63)):
            for offset in range(0, tile - overlap, 5):
                spans = tile_spans(length, tile, overlap, offset)
                covered = torch.zeros(length, dtype=torch.bool)
                for a, b in spans:
                    assert min(16, length) <= b - a <= tile
                    covered[a:b] = True
                assert covered.all(), (length, tile, overlap, offset, spans)
    starts = {tuple(a for a, _ in tile_spans(128, 48, 16, offset)) for offset in range(32)}
    assert len(starts) == 32, "every offset gives a different grid"


def test_tiled_pass_gives_a_full_size_image(runs, content128):
    for result in runs.values():
        assert result.image.shape == content128.shape
        assert torch.isfinite(result.image).all()
        assert result.image.min() >= 0 and result.image.max() <= 1
        assert result.steps == SETTINGS["steps"] and len(result.history["total"]) == SETTINGS["steps"]
        assert set(result.history) == {"total", "content", "style", "tv"}
        assert not result.interrupted


def test_refinement_lowers_the_whole_image_style_loss(runs, content128, style64, vgg):
    """Judged on the whole image, untiled: the tile-by-tile steps must improve the real objective."""
    layers = list(nh.GATYS_STYLE_LAYERS)
    style = nh.resize(style64, 128)  # the style at the scale the refinement uses (content 64 -> 128)
    with torch.no_grad():
        grams = {k: gram_matrix(v) for k, v in vgg.features(style, layers).items()}
        for result in runs.values():
            start = nh.resize(result.stages[0], tuple(content128.shape[-2:]))
            before = style_loss(vgg.features(start, layers), grams).item()
            after = style_loss(vgg.features(result.image, layers), grams).item()
            assert after < 0.95 * before


def test_moving_tiles_leave_no_seams(runs):
    """Seams are measured on what the refinement changed, so the upsampled start image's own
    texture does not count. Tile borders are at multiples of the stride (tile starts) and
    `overlap` past them (tile ends)."""
    scores = {}
    for shift, result in runs.items():
        change = result.image - nh.resize(result.stages[0], tuple(result.image.shape[-2:]))
        scores[shift] = [seam_score(change, STRIDE, offset) for offset in (0, SETTINGS["overlap"])]
    print(f"seam scores at tile starts / ends: moving grid {scores[True]}, fixed grid {scores[False]}")
    assert max(scores[True]) < 1.15
    assert max(scores[False]) > max(scores[True])


def test_only_tiles_go_through_the_network(monkeypatch, content128, style64):
    def small_base(settings, content, style, **kwargs):  # skip the low-resolution pass: it is not tiled
        return OptimizationResult(image=content, history={}, steps=1, best_loss=0.0, seconds=0.0)

    sizes = []
    original = nh.VGG19Features.features

    def recording(self, image, layers):
        sizes.append(tuple(image.shape[-2:]))
        return original(self, image, layers)

    monkeypatch.setattr(tiling, "transfer_with", small_base)
    monkeypatch.setattr(nh.VGG19Features, "features", recording)
    style = nh.resize(style64, 64)  # becomes 128 px long at the full-size scale
    tiled_style_transfer(content128, style, **{**SETTINGS, "steps": 2})
    assert len(sizes) > 8
    assert max(h for h, _ in sizes) <= SETTINGS["tile"] and max(w for _, w in sizes) <= SETTINGS["tile"]


def test_ctrl_c_returns_the_current_image(monkeypatch, content128, style64):
    monkeypatch.setattr(tiling, "transfer_with", lambda settings, content, style, **kwargs: OptimizationResult(
        image=content, history={}, steps=1, best_loss=0.0, seconds=0.0))
    calls = {"n": 0}
    original = nh.VGG19Features.features

    def interrupting(self, image, layers):
        calls["n"] += 1
        if calls["n"] == 60:
            raise KeyboardInterrupt
        return original(self, image, layers)

    monkeypatch.setattr(nh.VGG19Features, "features", interrupting)
    with pytest.warns(RuntimeWarning, match="interrupted at step"):
        result = tiled_style_transfer(content128, style64, **SETTINGS)
    assert result.interrupted
    assert 0 < result.steps < SETTINGS["steps"] and len(result.history["total"]) == result.steps
    assert result.image.shape == content128.shape and torch.isfinite(result.image).all()


@pytest.mark.parametrize("kwargs, match", [
    ({"tile": 32, "overlap": 32}, "overlap must be smaller than tile"),
    ({"overlap": -1}, "overlap must be an integer >= 0"),
    ({"base_size": 8}, "base_size must be an integer >= 16"),
    ({"steps": 0}, "steps must be a positive integer"),
    ({"base_steps": 0}, "base_steps must be a positive integer"),
    ({"tile": 8}, "tile must be an integer >= 16"),
    ({"lr": 0.0}, "lr must be a positive number"),
    ({"settings": {"style_weight": 1.0}}, "settings: expected a TransferSettings"),
])
def test_bad_parameters_are_clear_errors_before_any_work(monkeypatch, content128, style64, kwargs, match):
    def never(*args, **kwargs):
        raise AssertionError("style_transfer ran before the parameters were checked")

    monkeypatch.setattr(tiling, "transfer_with", never)
    with pytest.raises(ValueError, match=match):
        tiled_style_transfer(content128, style64, **{**SETTINGS, **kwargs})
    with pytest.raises(ValueError, match="content: expected shape"):
        tiled_style_transfer(content128[0], style64)


def test_a_nan_in_the_tiled_pass_is_recovered(monkeypatch, content128, style64):
    """The refinement runs through `optimize`, so a non-finite tile sends it back to the last good image."""
    real = nh.VGG19Features.features
    calls = {"n": 0, "poisoned": False}

    def poisoned(self, image, layers):
        features = real(self, image, layers)
        if torch.is_grad_enabled() and image.shape[-1] < 64:  # a tile of the refinement, not the base pass
            calls["n"] += 1
            if calls["n"] == 30:
                calls["poisoned"] = True
                return {k: v * float("nan") for k, v in features.items()}
        return features

    monkeypatch.setattr(nh.VGG19Features, "features", poisoned)
    with pytest.warns(RuntimeWarning, match="loss became nan"):
        result = tiled_style_transfer(content128, style64, **SETTINGS)
    assert calls["poisoned"] and result.recoveries >= 1
    assert result.steps == SETTINGS["steps"] and torch.isfinite(result.image).all()
