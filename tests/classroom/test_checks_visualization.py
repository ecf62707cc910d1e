"""Notebook 02's regularized channel-visualization loop check: right loops pass, each planted mistake
gets its own message."""
import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nst_helpers.classroom.checks.visualization import check_visualize_channel  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def loop_with(sign=-1.0, use_transform=True, every_step=True, detach_input=False, pick=None, clamp=True, lr=0.05,
              objective_on_transformed=True, optimizer="adam", copy=True):
    def visualize_channel(extractor, start, layer, channel, steps, transform):
        image = start.clone().requires_grad_() if copy else start.requires_grad_()
        opt = torch.optim.Adam([image], lr=lr) if optimizer == "adam" else None
        for step in range(steps):
            seen = image
            if transform is not None and use_transform and (every_step or step == 0):
                seen = transform(image.detach() if detach_input else image)
            act = extractor.features(seen if objective_on_transformed else image, [layer])[layer]
            loss = sign * (act[:, channel] if pick is None else pick(act, channel)).mean()
            if opt is not None:
                opt.zero_grad()
                loss.backward()
                opt.step()
            else:  # plain normalized gradient steps
                grad, = torch.autograd.grad(loss, image)
                with torch.no_grad():
                    image -= lr * grad / grad.abs().mean()
            if clamp:
                with torch.no_grad():
                    image.clamp_(0, 1)
        return image.detach()
    return visualize_channel


@pytest.mark.parametrize("fn", [loop_with(), loop_with(lr=0.01), loop_with(optimizer="normalized", lr=0.02)],
                         ids=["adam", "adam-0.01", "normalized-steps"])
def test_right_loops_pass_with_one_line(fn, capsys):
    check_visualize_channel(fn)
    out = capsys.readouterr().out
    assert out.startswith("✓ visualize_channel: the channel's activation rises") and out.count("\n") == 1


@pytest.mark.parametrize("fn, match", [
    (loop_with(sign=1.0), "the channel's mean activation fell .* minimize minus the activation"),
    (loop_with(use_transform=False), "never called transform"),
    (loop_with(every_step=False), "called transform 1 times in 30 steps"),
    (loop_with(detach_input=True), "raised RuntimeError.*cut off from the image"),
    (loop_with(pick=lambda act, channel: act[0]), "channel 7 rose most, not channel 3"),
    (loop_with(clamp=False), r"outside \[0, 1\]: clamp"),
    (loop_with(lr=1e-3), "raised the channel's mean activation only from"),
    (loop_with(objective_on_transformed=False), "as much fine detail as without"),
    (loop_with(copy=False), "changed `start` in place"),
    (lambda extractor, start, layer, channel, steps, transform: start.clone(), "returned the start unchanged"),
    (lambda extractor, start, layer, channel, steps, transform: transform(start), "raised TypeError.*transform may be None"),
], ids=["descent", "no-transform", "transform-once", "detached", "batch-axis", "unclamped", "tiny-lr",
        "transform-unused", "in-place", "start", "none-called"])
def test_each_planted_mistake_is_named(fn, match):
    with pytest.raises(AssertionError, match=match) as info:
        check_visualize_channel(fn)
    assert "\n" not in str(info.value)


def test_show_draws_a_figure():
    check_visualize_channel(loop_with(), show=True)
    assert plt.get_fignums()
