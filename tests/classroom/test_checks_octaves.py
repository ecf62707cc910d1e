"""Notebook 08's octave loop check: right loops pass, each planted mistake gets its own message."""
import matplotlib
import pytest
import torch
import torch.nn.functional as F

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import nst_helpers as nh  # noqa: E402
from nst_helpers.classroom.checks.octaves import check_dream_octaves  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def shrink(image, size, how):
    if how == "nh":
        return nh.resize(image, size)
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=how == "antialias")


def loop_with(how="nh", carry="detail", order="small-first", rounding=round, returned="dream", clamp=False):
    def dream_octaves(image, step_fn, octaves, scale):
        height, width = image.shape[-2:]
        sizes = [(rounding(height / scale ** k), rounding(width / scale ** k)) for k in range(octaves)]
        if order == "small-first":
            sizes = sizes[::-1]
        detail = dream = None
        for size in sizes:
            base = shrink(image, size, how) if size != (height, width) else image
            up = None if detail is None else F.interpolate(detail, size=size, mode="bilinear", align_corners=False)
            if carry == "whole" and dream is not None:
                start = F.interpolate(dream, size=size, mode="bilinear", align_corners=False)
            elif carry == "none" or up is None:
                start = base
            else:
                start = base + up
            start = start.clamp(0, 1) if clamp else start
            dream = step_fn(start)
            detail = dream - (start if carry == "own" else base)
        return {"dream": dream, "start": start}[returned]
    return dream_octaves


@pytest.mark.parametrize("fn", [loop_with(), loop_with(how="bilinear"), loop_with(how="antialias"),
                                loop_with(rounding=int), loop_with(clamp=True)],
                         ids=["nh-resize", "bilinear", "antialias", "int-sizes", "clamped"])
def test_right_loops_pass_with_one_line(fn, capsys):
    check_dream_octaves(fn)
    out = capsys.readouterr().out
    assert out.startswith("✓ dream_octaves: sizes [(16, 21), (24, 32), (36, 48)]") and out.count("\n") == 1


def the_package_recipe(image, step_fn, octaves, scale):
    """The loop as nh.deepdream writes it (octave_sizes, nh.resize, clamped start)."""
    photo, detail = image, None
    for size in nh.octave_sizes(*image.shape[-2:], octaves, scale):
        base = nh.resize(photo, size) if size != tuple(photo.shape[-2:]) else photo
        if detail is not None:
            detail = F.interpolate(detail, size=size, mode="bilinear", align_corners=False)
        dream = step_fn(base if detail is None else (base + detail).clamp(0, 1))
        detail = dream - base
    return dream


def test_the_package_recipe_passes(capsys):
    check_dream_octaves(the_package_recipe)
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("fn, match", [
    (loop_with(carry="none"), "holds only the last octave's dream"),
    (loop_with(carry="whole"), "the photo's fine detail is lost"),
    (loop_with(carry="own"), "the dream of 2 octaves, expected 3"),
    (loop_with(order="large-first"), "dreamed largest first"),
    (loop_with(returned="start"), "returned what the last octave started from"),
    (lambda image, step_fn, octaves, scale: step_fn(image), "called step_fn 1 times for octaves=3"),
    (lambda image, step_fn, octaves, scale: [step_fn(image) for _ in range(octaves)][-1],
     "every octave ran at the full size"),
    (lambda image, step_fn, octaves, scale: image.clone(), "never called step_fn"),
    (lambda image, step_fn, octaves, scale: (loop_with()(image, step_fn, octaves, scale), image.clone())[1],
     "returned the image unchanged"),
], ids=["no-carry", "whole-dream", "own-start", "largest-first", "returned-start", "once", "full-size", "no-step",
        "unchanged"])
def test_each_planted_mistake_is_named(fn, match):
    with pytest.raises(AssertionError, match=match) as info:
        check_dream_octaves(fn)
    assert "\n" not in str(info.value)


def test_changing_the_image_in_place_is_named():
    def in_place(image, step_fn, octaves, scale):
        out = the_package_recipe(image.clone(), step_fn, octaves, scale)
        image.copy_(out)
        return image
    with pytest.raises(AssertionError, match="changed the image in place"):
        check_dream_octaves(in_place)


def test_show_draws_a_figure():
    check_dream_octaves(loop_with(), show=True)
    assert plt.get_fignums()
