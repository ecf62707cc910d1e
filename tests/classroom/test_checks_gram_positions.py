"""Notebook 04's position-shuffle check: right answers pass, each planted mistake gets its own message."""
import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nst_helpers.classroom.checks.gram_positions import check_shuffle_positions  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def generator(seed):
    return torch.Generator().manual_seed(seed)


def shuffle_positions(features, seed):
    """The intended solution."""
    n, c, h, w = features.shape
    order = torch.randperm(h * w, generator=generator(seed))
    return features.reshape(n, c, h * w)[:, :, order].reshape(n, c, h, w)


def per_image(features, seed):
    """Each image its own permutation: also right."""
    n, c, h, w = features.shape
    g = generator(seed)
    flat = features.reshape(n, c, h * w)
    return torch.stack([flat[i][:, torch.randperm(h * w, generator=g)] for i in range(n)]).reshape(n, c, h, w)


def via_permute(features, seed):
    n, c, h, w = features.shape
    rows = features.permute(0, 2, 3, 1).reshape(n, h * w, c)
    rows = rows[:, torch.randperm(h * w, generator=generator(seed))]
    return rows.reshape(n, h, w, c).permute(0, 3, 1, 2)


@pytest.mark.parametrize("fn", [shuffle_positions, per_image, via_permute])
def test_right_answers_pass_with_one_line(fn, capsys):
    check_shuffle_positions(fn)
    out = capsys.readouterr().out
    assert out.startswith("✓ ") and out.count("\n") == 1


def each_channel(features, seed):
    n, c, h, w = features.shape
    g = generator(seed)
    flat = features.reshape(n, c, h * w)
    return torch.stack([flat[:, k, torch.randperm(h * w, generator=g)] for k in range(c)], 1).reshape(n, c, h, w)


def channels(features, seed):
    return features[:, torch.randperm(features.shape[1], generator=generator(seed))]


def reshaped_wrong(features, seed):
    n, c, h, w = features.shape
    return features.reshape(n, h * w, c)[:, torch.randperm(h * w, generator=generator(seed))].reshape(n, c, h, w)


def unseeded(features, seed):
    n, c, h, w = features.shape
    return features.reshape(n, c, h * w)[:, :, torch.randperm(h * w)].reshape(n, c, h, w)


def with_repeats(features, seed):
    n, c, h, w = features.shape
    index = torch.randint(0, h * w, (h * w,), generator=generator(seed))
    return features.reshape(n, c, h * w)[:, :, index].reshape(n, c, h, w)


def first_half_only(features, seed):
    n, c, h, w = features.shape
    order = torch.arange(h * w)
    order[:4] = order[:4].flip(0)
    return features.reshape(n, c, h * w)[:, :, order].reshape(n, c, h, w)


def in_place(features, seed):
    features.copy_(shuffle_positions(features.detach().clone(), seed))
    return features


@pytest.mark.parametrize("fn, match", [
    (each_channel, "shuffled each channel on its own"),
    (channels, "shuffled the channels, not the positions"),
    (reshaped_wrong, "moved the numbers but not whole positions"),
    (lambda f, seed: f.flip(0), "shuffled the images of the batch"),
    (lambda f, seed: f.clone(), "returned the features unchanged"),
    (unseeded, "same seed gave different shuffles"),
    (lambda f, seed: shuffle_positions(f, 0), "seeds 0 and 1 gave the same shuffle"),
    (with_repeats, "some positions appear twice"),
    (first_half_only, r"only \d+% of the positions moved"),
    (in_place, "changed the features in place"),
    (lambda f, seed: shuffle_positions(f, seed).reshape(f.shape[0], f.shape[1], -1), r"returned shape \(2, 5, 42\)"),
    (lambda f, seed: shuffle_positions(f, seed) * 2, "values that are not the input's"),
    (lambda f, seed: shuffle_positions(f.detach(), seed), "no grad_fn"),
], ids=["each-channel", "channels", "reshape", "batch", "identity", "unseeded", "seed-ignored", "repeats", "few-moved",
        "in-place", "flat", "scaled", "detached"])
def test_each_planted_mistake_is_named(fn, match):
    with pytest.raises(AssertionError, match=match) as info:
        check_shuffle_positions(fn)
    assert "\n" not in str(info.value)


def test_show_draws_a_figure():
    check_shuffle_positions(shuffle_positions, show=True)
    assert plt.get_fignums()
