"""FrameRecorder, save_gif, gif_bytes and gif_image: frames in, a GIF with the right frames and timing out."""
import io

import numpy as np

import pytest
import torch
from PIL import Image

import nst_helpers as nh
from nst_helpers.core.images import to_pil
from nst_helpers.notebook.animation import FrameRecorder, gif_bytes, gif_image, save_gif
from nst_helpers.methods.deepdream import deepdream


def grey(value, size=(24, 32)):
    """A flat image (1, 3, H, W) whose brightness encodes `value` in [0, 1]."""
    return torch.full((1, 3, *size), float(value))


def brightness(pil):
    return pil.convert("L").getpixel((0, 0))


def feed(recorder, steps):
    for step in range(1, steps + 1):
        recorder(step, grey(step / steps), {"total": 1.0})


def read_gif(data):
    """(frame count, per-frame durations in ms, first frame's size) of GIF bytes."""
    with Image.open(io.BytesIO(data)) as gif:
        durations = []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
        return gif.n_frames, durations, gif.size


def test_recorder_as_optimize_callback_collects_frames():
    target = torch.rand(1, 3, 24, 24)
    recorder = FrameRecorder(every=5, size=None, label=None)
    nh.optimize(lambda x: {"mse": ((x - target) ** 2).mean()}, torch.full_like(target, 0.5), 20,
                optimizer="adam", lr=0.05, callback=recorder, callback_every=1, progress=False)
    assert recorder.steps == [1, 6, 11, 16, 20]
    assert all(f.size == (24, 24) and f.mode == "RGB" for f in recorder.frames)
    assert recorder.frames[0].tobytes() != recorder.frames[-1].tobytes()


def test_recorder_keeps_its_own_copy_of_each_frame():
    recorder, first, latest = FrameRecorder(every=5, label=None), grey(0.2), grey(0.5)
    recorder(1, first, {})
    recorder(2, latest, {})  # not kept, but shown as the last frame until the next call
    first.fill_(0.9)  # optimize hands over a view of the parameter, which changes in place
    latest.fill_(0.9)
    assert recorder.steps == [1, 2]
    assert [brightness(f) for f in recorder.frames] == [51, 128]


def test_recorder_shrinks_to_the_long_side():
    recorder = FrameRecorder(size=16, label=None)
    recorder(1, grey(0.5, (24, 32)), {})
    assert recorder.frames[0].size == (16, 12)


def test_thinning_keeps_at_most_max_frames_from_first_to_last():
    recorder = FrameRecorder(every=1, max_frames=8, size=None, label=None)
    feed(recorder, 100)
    steps = recorder.steps
    assert len(recorder.frames) == len(steps) <= 8
    assert steps[0] == 1 and steps[-1] == 100
    assert brightness(recorder.frames[0]) == round(255 * 1 / 100)
    assert brightness(recorder.frames[-1]) == 255
    gaps = [b - a for a, b in zip(steps, steps[1:-1])]
    assert len(set(gaps)) == 1 and gaps[0] >= 8, f"evenly spread over the run: {steps}"


def test_latest_frame_closes_the_animation_even_between_kept_steps():
    recorder = FrameRecorder(every=10, size=None, label=None)
    feed(recorder, 25)
    assert recorder.steps == [1, 11, 21, 25] and len(recorder) == 4


def test_save_gif_writes_frames_and_durations(tmp_path):
    frames = [grey(v) for v in (0.1, 0.4, 0.7)] + [nh.to_pil(grey(1.0))]  # tensors and PIL mixed
    path = save_gif(frames, tmp_path / "run.gif", duration_ms=50, hold_last_ms=500, loop=0)
    assert path == tmp_path / "run.gif" and not list(tmp_path.glob(".tmp-*"))
    count, durations, size = read_gif(path.read_bytes())
    assert (count, durations, size) == (4, [50, 50, 50, 550], (32, 24))
    with Image.open(path) as gif:
        assert gif.info.get("loop") == 0


def test_gif_of_a_recorded_dream(tmp_path, vgg, content64):
    recorder = FrameRecorder(every=2, size=32, label=None)
    deepdream(content64, "relu2_1", octaves=2, steps_per_octave=3, extractor=vgg, progress=False, callback=recorder)
    assert recorder.steps == [1, 3, 5, 6]
    count, durations, size = read_gif(gif_bytes(recorder, duration_ms=100, hold_last_ms=0))
    assert count == 4 and durations == [100] * 4 and size == (32, 24)


def test_frames_of_other_sizes_are_fitted_to_the_first():
    data = gif_bytes([grey(0.2, (24, 32)), grey(0.8, (20, 30))])
    count, _, size = read_gif(data)
    assert count == 2 and size == (32, 24)
    with Image.open(io.BytesIO(data)) as gif:
        gif.seek(1)
        assert brightness(gif.convert("RGB").crop((28, 20, 32, 24))) == 204, "the second frame fills the canvas"


def test_gif_image_shows_bytes_inline(tmp_path):
    shown = gif_image([grey(0.2), grey(0.8)], width=100, duration_ms=60)
    assert shown.format == "gif" and shown.width == 100 and shown.data[:6] == b"GIF89a"
    path = save_gif([grey(0.2), grey(0.8)], tmp_path / "a.gif")
    assert gif_image(path).data == path.read_bytes()


@pytest.mark.parametrize("call, match", [
    (lambda d: save_gif([], d / "a.gif"), "^frames: the list is empty"),
    (lambda d: save_gif([grey(0.5)], d / "a.png"), r"^path: .*a\.png does not end in \.gif$"),
    (lambda d: save_gif([grey(0.5)], d / "missing" / "a.gif"), r"^path: folder .*missing does not exist$"),
    (lambda d: save_gif(grey(0.5), d / "a.gif"), "^frames: expected a list"),
    (lambda d: save_gif([grey(0.5), "x"], d / "a.gif"), "^frames: item 1 is a str"),
    (lambda d: save_gif([grey(0.5)], d / "a.gif", duration_ms=10), "^duration_ms must be an integer >= 20"),
    (lambda d: save_gif([grey(0.5)], d / "a.gif", hold_last_ms=-1), "^hold_last_ms must be"),
    (lambda d: save_gif([grey(0.5)], d / "a.gif", loop=-1), "^loop must be"),
    (lambda d: gif_image(d / "nothing.gif"), "^source: .* is not a file$"),
    (lambda d: FrameRecorder(every=0), "^every must be a positive integer"),
    (lambda d: FrameRecorder(max_frames=1), "^max_frames must be an integer >= 2"),
    (lambda d: FrameRecorder(size=0), "^size must be a positive integer"),
    (lambda d: FrameRecorder(label="frame"), "^label: a text with {step} in it"),
])
def test_bad_arguments_raise_one_line(tmp_path, call, match):
    with pytest.raises(ValueError, match=match) as info:
        call(tmp_path)
    assert "\n" not in str(info.value)
    assert not list(tmp_path.glob("*.gif"))


def test_frames_carry_a_step_counter_unless_told_not_to():
    plain, counted = FrameRecorder(every=1, size=None, label=None), FrameRecorder(every=1, size=None)
    image = torch.full((1, 3, 64, 96), 0.8)
    for recorder in (plain, counted):
        recorder(0, image)
        recorder(7, image)
    assert plain.frames[1].tobytes() == to_pil(image).tobytes()
    stamped = torch.from_numpy(np.asarray(counted.frames[1])).float()
    corner, rest = stamped[-12:, :30], stamped[:40]
    assert corner.min() == 0 and corner.max() > 200 and (rest == stamped[0, 0]).all()  # dark box, white text
    assert counted.frames[0].tobytes() != counted.frames[1].tobytes()  # "step 0" and "step 7" differ
