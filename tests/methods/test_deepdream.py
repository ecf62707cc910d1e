"""deepdream: gradient ascent with jitter, normalized steps and octaves, on the real VGG19 at 64 px."""
import importlib

import pytest
import torch

import nst_helpers as nh
from nst_helpers.methods.deepdream import deepdream, octave_sizes

dd = importlib.import_module("nst_helpers.methods.deepdream")  # the module: nh.deepdream is the function


def dream(image, vgg, layer="relu3_1", **kwargs):
    kwargs = {"octaves": 1, "steps_per_octave": 4, "jitter": 0, "progress": False, **kwargs}
    return deepdream(image, layer, extractor=vgg, **kwargs)


def values(result):
    """The objective before each step (the loop records minus it, the quantity it minimizes)."""
    return [-v for v in result.history["activation"]]


def objective(vgg, image, layer, channel=None):
    with torch.no_grad():
        act = vgg.features(image, [layer])[layer]
    return (act[:, channel] if channel is not None else act).pow(2).mean().item()


def test_objective_rises_step_after_step(vgg, content64):
    history = values(dream(content64, vgg, steps_per_octave=6))
    assert len(history) == 6
    assert all(b > a for a, b in zip(history, history[1:])), history
    assert history[-1] > 1.5 * history[0]


def test_objective_rises_with_jitter_and_octaves(vgg, content64):
    result = dream(content64, vgg, octaves=2, steps_per_octave=5, jitter=8)
    for octave in (values(result)[:5], values(result)[5:]):
        assert octave[-1] > octave[0]


def test_history_starts_at_the_photo_and_follows_the_objective(vgg, content64):
    whole = dream(content64, vgg, steps_per_octave=2)
    one = dream(content64, vgg, steps_per_octave=2, channel=7)
    assert values(whole)[0] == pytest.approx(objective(vgg, content64, "relu3_1"), rel=1e-4)
    assert values(one)[0] == pytest.approx(objective(vgg, content64, "relu3_1", channel=7), rel=1e-4)
    assert objective(vgg, one.image, "relu3_1", 7) > 1.2 * objective(vgg, content64, "relu3_1", 7)


def test_output_differs_from_input_and_stays_in_range(vgg, content64):
    image = dream(content64, vgg, octaves=2, steps_per_octave=4, jitter=4, step_size=0.05).image
    assert image.shape == content64.shape and image.dtype == torch.float32
    assert 0 <= image.min() and image.max() <= 1
    assert (image - content64).abs().mean() > 0.02
    assert image.min() == 0 or image.max() == 1, "a step this large must hit the clamp somewhere"


def test_each_step_moves_the_average_pixel_by_step_size(vgg, content64):
    mid_grey = 0.25 + 0.5 * content64  # far from 0 and 1: no pixel is clamped
    for step_size in (0.002, 0.02):
        out = dream(mid_grey, vgg, steps_per_octave=1, step_size=step_size).image
        assert (out - mid_grey).abs().mean().item() == pytest.approx(step_size, rel=0.02)


def test_jitter_is_undone_after_each_step(vgg, content64):
    out = dream(content64, vgg, steps_per_octave=3, jitter=8, step_size=0.001).image
    assert (out - content64).abs().mean() < 0.004  # a shifted image would differ by ~0.1
    assert not torch.equal(out, dream(content64, vgg, steps_per_octave=3, jitter=0, step_size=0.001).image)


def test_same_seed_same_dream_other_seed_other_dream(vgg, content64):
    first = dream(content64, vgg, octaves=2, steps_per_octave=3, jitter=8, seed=1)
    again = dream(content64, vgg, octaves=2, steps_per_octave=3, jitter=8, seed=1)
    other = dream(content64, vgg, octaves=2, steps_per_octave=3, jitter=8, seed=2)
    assert torch.equal(first.image, again.image) and first.history == again.history
    assert not torch.equal(first.image, other.image)


@pytest.mark.parametrize("octaves", [1, 3])
def test_octaves_return_the_input_size_and_one_image_per_octave(vgg, content64, octaves):
    result = dream(content64, vgg, octaves=octaves, steps_per_octave=2)
    assert result.image.shape == content64.shape
    sizes = [tuple(img.shape[-2:]) for img in result.stages]
    assert sizes == octave_sizes(48, 64, octaves, 1.4) and sizes[-1] == (48, 64)
    assert torch.equal(result.stages[-1], result.image)
    assert result.steps == len(values(result)) == 2 * octaves


def test_octave_sizes_grow_by_the_scale():
    assert octave_sizes(100, 200, 3, 2.0) == [(25, 50), (50, 100), (100, 200)]
    assert octave_sizes(48, 64, 1, 1.4) == [(48, 64)]


def test_the_dream_is_carried_up_to_the_next_octave(vgg, content64):
    result = dream(content64, vgg, octaves=2, steps_per_octave=4, step_size=0.03)
    start_of_second = values(result)[4]
    assert start_of_second > 1.5 * objective(vgg, content64, "relu3_1"), "the second octave restarted from the photo"


def test_callback_sees_every_step_at_the_input_size(vgg, content64):
    calls = []
    dream(content64, vgg, octaves=2, steps_per_octave=3,
          callback=lambda step, image, losses: calls.append((step, tuple(image.shape), set(losses))))
    assert [c[0] for c in calls] == [1, 2, 3, 4, 5, 6]
    assert all(c[1] == tuple(content64.shape) and c[2] == {"total", "activation"} for c in calls)


def test_default_extractor_is_the_shared_max_pooling_vgg(vgg, content64, monkeypatch):
    asked = []
    monkeypatch.setattr(dd, "get_extractor", lambda **kwargs: asked.append(kwargs) or vgg)
    deepdream(content64, "relu1_1", octaves=1, steps_per_octave=1, progress=False)
    assert asked == [{"pooling": "max"}]


@pytest.mark.parametrize("kwargs, match", [
    ({"layer": "relu9_1"}, "^layer: unknown layer 'relu9_1'"),
    ({"layer": "relu1_1", "channel": 64}, r"^channel: relu1_1 has channels 0..63, got 64$"),
    ({"channel": -1}, "^channel: relu3_1 has channels 0..255, got -1$"),
    ({"channel": 1.0}, "^channel: "),
    ({"octaves": 0}, "^octaves must be a positive integer, got 0$"),
    ({"octave_scale": 1.0}, "^octave_scale must be a finite number > 1, got 1.0$"),
    ({"octave_scale": float("nan")}, "^octave_scale must be"),
    ({"steps_per_octave": 0}, "^steps_per_octave must be a positive integer"),
    ({"step_size": 0}, "^step_size must be a finite number > 0"),
    ({"jitter": -1}, "^jitter must be an integer >= 0"),
    ({"octaves": 6}, "^octaves: the smallest octave would be 12x9 px, below VGG19's 16 px"),
    ({"callback": 3}, "^callback must be a function"),
    ({"image": torch.rand(3, 48, 64)}, r"^image: expected shape \(1, 3, H, W\)"),
    ({"image": torch.rand(1, 3, 12, 64)}, "^image: 64x12 is too small"),
])
def test_bad_arguments_raise_one_line_before_any_work(content64, monkeypatch, kwargs, match):
    monkeypatch.setattr(dd, "get_extractor", lambda **_: pytest.fail("loaded VGG19 before checking the arguments"))
    kwargs = {"image": content64, "layer": "relu3_1", **kwargs}
    with pytest.raises(ValueError, match=match) as info:
        deepdream(kwargs.pop("image"), kwargs.pop("layer"), progress=False, **kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("stop", [KeyboardInterrupt, nh.StopOptimization])
def test_an_interrupted_dream_returns_what_it_has(vgg, content64, stop):
    def callback(step, image, losses):
        if step == 5:  # in the second of three octaves
            raise stop()

    result = dream(content64, vgg, octaves=3, steps_per_octave=3, callback=callback)
    assert result.interrupted and result.steps == len(values(result)) == 5 and len(result.stages) == 1
    assert result.image.shape == content64.shape
    assert 0 <= result.image.min() and result.image.max() <= 1
    assert (result.image - content64).abs().mean() > 1e-3


def test_the_loop_takes_the_same_steps_as_ascent_step(vgg, content64):
    """DeepDream now runs through `optimize` (NormalizedGradient on minus the objective): it must
    take exactly the steps of the reference ascent_step that the classroom check uses."""
    image = content64
    for _ in range(3):
        image, _ = dd.ascent_step(image, vgg, "relu3_1", None, 0.01)
    dreamed = dream(content64, vgg, steps_per_octave=3, step_size=0.01).image
    assert (dreamed - image).abs().max() < 1e-4  # float rounding; the steps move pixels by ~0.01


def test_a_nan_in_a_dream_is_recovered(vgg, content64, monkeypatch):
    calls = {"n": 0}
    real = type(vgg).features

    def poisoned(self, image, layers):
        calls["n"] += 1
        features = real(self, image, layers)
        return {k: v * float("nan") for k, v in features.items()} if calls["n"] == 3 else features

    monkeypatch.setattr(type(vgg), "features", poisoned)
    with pytest.warns(RuntimeWarning, match="loss became nan"):
        result = dream(content64, vgg, octaves=2, steps_per_octave=3)
    assert result.recoveries == 1 and result.steps == 6 and torch.isfinite(result.image).all()
    assert values(result)[-1] > values(result)[0]
