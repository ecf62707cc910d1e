"""Animated GIFs of an optimization: record frames with a callback, then save or show them.

    recorder = FrameRecorder(every=5)
    result = nh.optimize(objective, start, 200, callback=recorder, callback_every=1)
    save_gif(recorder.frames, "run.gif")      # or, in a notebook: gif_image(recorder.frames)
"""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Mapping, Sequence, Union

import torch
from PIL import Image

from ..core.images import to_pil
from ..core.validation import check_int

Frame = Union[Image.Image, torch.Tensor]
#: Browsers show GIF frames shorter than this as 100 ms ones.
MIN_DURATION_MS = 20


def _shrink(pil: Image.Image, size: int | None) -> Image.Image:
    """`pil` with its long side reduced to `size` (never enlarged)."""
    if size is None or max(pil.size) <= size:
        return pil
    scale = size / max(pil.size)
    return pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))),
                      Image.Resampling.LANCZOS)


def stamp(pil: Image.Image, text: str) -> Image.Image:
    """A copy of `pil` with `text` in white on a dark box in its bottom-left corner."""
    from PIL import ImageDraw, ImageFont

    out = pil.convert("RGB")
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default(size=max(9, out.height // 14))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad, height = 2, bottom - top
    draw.rectangle((0, out.height - height - 3 * pad, right - left + 2 * pad, out.height), fill=(0, 0, 0))
    draw.text((pad - left, out.height - height - 2 * pad - top), text, fill=(255, 255, 255), font=font)
    return out


class FrameRecorder:
    """A callback(step, image, losses) for `optimize`, `deepdream` and friends that keeps frames.

    Keeps the image of the first call and then one every `every` steps, as RGB PIL images with
    the long side shrunk to `size` (None keeps the size). When `max_frames` are stored, every
    other one is dropped and the spacing doubles, so a long run still spans start to end.
    .frames: the kept frames plus the latest call's, so an animation ends on the final image.
    .steps: the step number of each of .frames.
    label: the counter stamped in each frame's bottom-left corner, formatted with the step number
    ("step {step}" -> "step 40"); None stamps nothing.
    """

    def __init__(self, every: int = 5, max_frames: int = 120, size: int | None = 256,
                 label: str | None = "step {step}") -> None:
        check_int(every, "every", 1)
        check_int(max_frames, "max_frames", 2)
        if size is not None:
            check_int(size, "size", 1)
        if label is not None and (not isinstance(label, str) or "{step}" not in label):
            raise ValueError(f"label: a text with {{step}} in it, e.g. 'step {{step}}', or None; got {label!r}")
        self.every, self.max_frames, self.size, self.label = every, max_frames, size, label
        self._frames: list[Image.Image] = []
        self._steps: list[int] = []
        self._next_step = 0
        self._latest: tuple[int, torch.Tensor] | None = None

    def __call__(self, step: int, image: torch.Tensor, losses: Mapping[str, float] | None = None) -> None:
        self._latest = (step, image.detach().to("cpu", copy=True))
        if step < self._next_step:
            return
        if len(self._frames) == self.max_frames:
            self._frames, self._steps = self._frames[::2], self._steps[::2]
            self.every *= 2
        self._frames.append(self._pil(image, step))
        self._steps.append(step)
        self._next_step = step + self.every

    def _pil(self, image: torch.Tensor, step: int) -> Image.Image:
        pil = _shrink(to_pil(image), self.size)
        return pil if self.label is None else stamp(pil, self.label.format(step=step))

    def _with_latest(self) -> tuple[list[Image.Image], list[int]]:
        frames, steps = list(self._frames), list(self._steps)
        if self._latest is not None and (not steps or self._latest[0] != steps[-1]):
            if len(frames) == self.max_frames:
                frames, steps = frames[:-1], steps[:-1]
            frames.append(self._pil(self._latest[1], self._latest[0]))
            steps.append(self._latest[0])
        return frames, steps

    @property
    def frames(self) -> list[Image.Image]:
        return self._with_latest()[0]

    @property
    def steps(self) -> list[int]:
        return self._with_latest()[1]

    def __len__(self) -> int:
        return len(self.steps)


def _as_pils(frames: Sequence[Frame] | FrameRecorder) -> list[Image.Image]:
    """PIL images (RGB) of the first frame's size from PIL images or (1, 3, H, W) tensors in [0, 1]."""
    if isinstance(frames, FrameRecorder):
        frames = frames.frames
    if isinstance(frames, (Image.Image, torch.Tensor)) or not isinstance(frames, Sequence):
        raise ValueError(f"frames: expected a list of PIL images or image tensors, got {type(frames).__name__}")
    if len(frames) == 0:
        raise ValueError("frames: the list is empty; record some frames first")
    pils = []
    for i, frame in enumerate(frames):
        if isinstance(frame, torch.Tensor):
            frame = to_pil(frame)
        elif not isinstance(frame, Image.Image):
            raise ValueError(f"frames: item {i} is a {type(frame).__name__}, not a PIL image or a tensor")
        pils.append(frame.convert("RGB"))
    size = pils[0].size
    return [p if p.size == size else p.resize(size, Image.Resampling.LANCZOS) for p in pils]


def gif_bytes(frames: Sequence[Frame] | FrameRecorder, duration_ms: int = 80, loop: int = 0, hold_last_ms: int = 1000) -> bytes:
    """The animated GIF of `frames` (PIL images, tensors (1, 3, H, W) in [0, 1], or a FrameRecorder) as bytes.

    Each frame shows for `duration_ms`, the last one for `hold_last_ms` longer. loop: how many
    times to play (0: forever). Frames of another size are resized to the first one's. Pillow
    merges identical consecutive frames into one (their durations add up).
    """
    check_int(duration_ms, "duration_ms", MIN_DURATION_MS)
    check_int(loop, "loop", 0)
    check_int(hold_last_ms, "hold_last_ms", 0)
    pils = _as_pils(frames)
    durations = [duration_ms] * len(pils)
    durations[-1] += hold_last_ms
    buffer = io.BytesIO()
    pils[0].save(buffer, format="GIF", save_all=True, append_images=pils[1:], duration=durations, loop=loop)
    return buffer.getvalue()


def save_gif(frames: Sequence[Frame] | FrameRecorder, path: str | os.PathLike, duration_ms: int = 80, loop: int = 0,
             hold_last_ms: int = 1000) -> Path:
    """Write `frames` (as for gif_bytes) as an animated GIF; returns the path.

    Timing as in gif_bytes. The file is written under a temporary name and then renamed, so an
    interrupted save never leaves half a GIF.
    """
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"path: {path} does not end in .gif")
    if not path.parent.is_dir():
        raise ValueError(f"path: folder {path.parent} does not exist")
    data = gif_bytes(frames, duration_ms=duration_ms, loop=loop, hold_last_ms=hold_last_ms)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".gif", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def gif_image(source: Sequence[Frame] | FrameRecorder | str | os.PathLike, width: int | None = None,
              **timing: int) -> "IPython.display.Image":
    """An IPython Image that a notebook shows inline (make it a cell's last expression).

    source: a GIF file, or frames (timing keywords as in gif_bytes: duration_ms, loop,
    hold_last_ms). width: the displayed width in pixels (None: the GIF's own).
    """
    from IPython.display import Image as IPythonImage

    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"source: {path} is not a file")
        data = path.read_bytes()
    else:
        data = gif_bytes(source, **timing)
    return IPythonImage(data=data, format="gif", width=width)
