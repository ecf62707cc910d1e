"""Notebook 07's coarse-to-fine check: right loops pass, each planted mistake gets its own message."""
import matplotlib
import pytest
import torch.nn.functional as F

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import nst_helpers as nh  # noqa: E402
from nst_helpers.classroom.checks.coarse_to_fine import check_coarse_to_fine  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def loop_with(style_size="scaled", init="previous", first=None, order=1, square=False, enlarge="nh", returned="last"):
    def coarse_to_fine(content, style, sizes, transfer):
        final = max(content.shape[-2:])
        results = []
        for size in list(sizes)[::order]:
            here = nh.resize(content, (size, size)) if square else nh.resize(content, size)
            shape = tuple(here.shape[-2:])
            painting = {"scaled": lambda: nh.resize(style, round(max(style.shape[-2:]) * size / final)),
                        "full": lambda: style, "content": lambda: nh.resize(style, shape)}[style_size]()
            if not results:
                start = first
            elif init == "previous":
                start = (nh.resize(results[-1], shape) if enlarge == "nh" else
                         F.interpolate(results[-1], size=shape, mode="bilinear", align_corners=False))
            else:
                start = {"none": None, "content": here, "raw": results[-1]}[init]
            results.append(transfer(here, painting, start))
        return results[-1] if returned == "last" else results[0]
    return coarse_to_fine


@pytest.mark.parametrize("fn", [loop_with(), loop_with(enlarge="bilinear")], ids=["nh-resize", "bilinear"])
def test_right_loops_pass_with_one_line(fn, capsys):
    check_coarse_to_fine(fn)
    out = capsys.readouterr().out
    assert out.startswith("✓ coarse_to_fine: sizes [28, 40, 56] in order") and out.count("\n") == 1


@pytest.mark.parametrize("fn, match", [
    (loop_with(style_size="full"), "kept the style at its full size"),
    (loop_with(style_size="content"), "resized the style to the content's shape"),
    (loop_with(init="none"), r"started every size from scratch \(init=None\)"),
    (loop_with(init="content"), "passed the content as init"),
    (loop_with(init="raw"), r"init has shape \(1, 3, 20, 28\), but the content at this size is \(1, 3, 29, 40\)"),
    (loop_with(first="content"), "init has shape str"),
    (loop_with(order=-1), "ran the sizes largest first"),
    (loop_with(square=True), "resized the content to squares"),
    (loop_with(returned="first"), r"returned shape \(1, 3, 20, 28\), expected the content's"),
    (lambda content, style, sizes, transfer: transfer(content, style, None), "called transfer 1 times for 3 sizes"),
], ids=["style-full", "style-as-content", "no-init", "content-init", "not-enlarged", "first-init", "largest-first",
        "square", "first-result", "once"])
def test_each_planted_mistake_is_named(fn, match):
    with pytest.raises(AssertionError, match=match) as info:
        check_coarse_to_fine(fn)
    assert "\n" not in str(info.value)


def test_an_init_at_the_first_size_is_named():
    def with_first_init(content, style, sizes, transfer):
        return loop_with()(content, style, sizes, lambda c, s, init: transfer(c, s, init if init is not None else c))
    with pytest.raises(AssertionError, match="passed an init at the first size"):
        check_coarse_to_fine(with_first_init)


def test_show_draws_a_figure():
    check_coarse_to_fine(loop_with(), show=True)
    assert plt.get_fignums()
