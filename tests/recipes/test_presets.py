"""Presets, the notebook-07 recipe, and the CLI's --preset / --keep-colours."""
import pytest
from PIL import Image

import nst_helpers as nh
from nst_helpers import cli
from nst_helpers.recipes import presets as recipes

from conftest import DATA

FAST = dict(settings=nh.PRESETS["best"].replace(device="cpu", precision="fp32"), progress=False)


def test_best_runs_coarse_then_full_size(content64, style64, monkeypatch):
    real = recipes.multiscale_transfer

    def spy(content, style, *, sizes, settings, **kwargs):
        spy.sizes, spy.settings = list(sizes), settings
        return real(content, style, sizes=sizes, settings=settings, **kwargs)

    monkeypatch.setattr(recipes, "multiscale_transfer", spy)
    result = nh.best_style_transfer(content64, style64, steps=4, **FAST)
    assert spy.sizes == [32, 64]
    assert spy.settings.tv_weight > 0 and spy.settings.pooling == "avg" and spy.settings.optimizer == "lbfgs"
    assert result.image.shape == content64.shape and result.steps == 8


def test_keep_colours_takes_the_contents_colours(content64, style64):
    plain = nh.best_style_transfer(content64, style64, steps=4, **FAST).image
    kept = nh.best_style_transfer(content64, style64, steps=4, keep_colours=True, **FAST).image

    def chroma(image):  # mean |R - B| tells a blue painting from a green-brown photo
        return (image[0, 0] - image[0, 2]).mean()
    assert abs(chroma(kept) - chroma(content64)) < abs(chroma(plain) - chroma(content64))


def test_presets_override_and_are_overridden(content64, style64, monkeypatch):
    seen = {}
    monkeypatch.setattr(recipes, "transfer_with", lambda settings, c, s, **kw: seen.update(kw, settings=settings) or "ran")
    assert recipes.preset_transfer("gatys", content64, style64, steps=3, changes={"tv_weight": 5.0}) == "ran"
    assert seen["settings"].tv_weight == 5.0 and seen["settings"].pooling == "avg" and seen["steps"] == 3
    seen.clear()
    recipes.preset_transfer("gatys", content64, style64, steps=3)
    assert seen["settings"].tv_weight == 0.0
    with pytest.raises(ValueError, match="tv_weight must be a finite number >= 0"):
        recipes.preset_transfer("gatys", content64, style64, changes={"tv_weight": -1.0})
    with pytest.raises(ValueError, match="preset must be one of"):
        recipes.preset_transfer("fancy", content64, style64)


def test_cli_preset_best_and_keep_colours(tmp_path, capsys):
    out = tmp_path / "best.png"
    code = cli.main([str(DATA / "content" / "chelsea.jpg"), str(DATA / "style" / "the_scream.jpg"), "-o", str(out),
                     "--size", "48", "--steps", "2", "--preset", "best", "--keep-colours", "--quiet",
                     "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    assert "4 steps" in capsys.readouterr().out  # 2 coarse + 2 full-size
    with Image.open(out) as img:
        assert img.size == (48, 32)


def test_cli_options_left_out_do_not_override_the_preset(monkeypatch, tmp_path):
    seen = {}

    def fake(preset, content, style, **kwargs):
        seen.update(kwargs, preset=preset)
        return nh.OptimizationResult(image=content, history={}, steps=1, best_loss=0.0, seconds=0.0)

    monkeypatch.setattr(cli, "preset_transfer", fake)
    args = [str(DATA / "content" / "chelsea.jpg"), str(DATA / "style" / "the_scream.jpg"), "-o",
            str(tmp_path / "x.png"), "--size", "32", "--preset", "gatys", "--quiet"]
    assert cli.main(args) == 0
    assert seen["preset"] == "gatys" and "tv_weight" not in seen["changes"] and "pooling" not in seen["changes"]
    assert cli.main(args + ["--pooling", "max"]) == 0 and seen["changes"]["pooling"] == "max"
