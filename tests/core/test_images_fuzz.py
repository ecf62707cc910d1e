"""Property tests: whatever file load_image is given, it returns a correct RGB tensor or raises
ImageLoadError with one line naming the file. No other exception may escape."""
import io
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from nst_helpers.core.images import MIN_SIDE, ImageLoadError, load_image

MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]
FORMATS = {  # format -> modes it can store
    "PNG": {"1", "L", "LA", "P", "RGB", "RGBA", "I;16"},
    "TIFF": {"1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"},
    "JPEG": {"L", "RGB", "CMYK"},
    "BMP": {"1", "L", "P", "RGB"},
    "GIF": {"L", "P"},
    "WEBP": {"RGB", "RGBA"},
}
SIDES = st.one_of(st.integers(1, 40), st.sampled_from([1, 2, 15, 16, 17, 300]))
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def make_image(mode: str, width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    rgba = Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8))  # mode RGBA
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))  # mode I;16
    if mode == "I":
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.int32))  # mode I
    if mode == "F":
        return Image.fromarray(rng.random((height, width), dtype=np.float32))  # mode F
    if mode == "P":
        return rgba.convert("RGB").convert("P")
    return rgba.convert(mode)


def encode(image: Image.Image, fmt: str, orientation: int | None) -> bytes:
    buffer = io.BytesIO()
    kwargs = {}
    if orientation is not None and fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def check_outcome(path, expected_hw=None):
    """Load `path`: a valid tensor, or ImageLoadError with one line that names the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # animated-image notices are tested elsewhere
            tensor = load_image(path)
    except ImageLoadError as error:
        message = str(error)
        assert "\n" not in message and str(path) in message, message
        return None
    assert tensor.dtype == torch.float32 and tensor.dim() == 4 and tensor.shape[:2] == (1, 3)
    assert torch.isfinite(tensor).all() and tensor.min() >= 0 and tensor.max() <= 1
    assert min(tensor.shape[-2:]) >= MIN_SIDE
    if expected_hw is not None:
        assert tuple(tensor.shape[-2:]) == expected_hw
    return tensor


@FAST
@given(mode=st.sampled_from(MODES), fmt=st.sampled_from(sorted(FORMATS)), width=SIDES, height=SIDES,
       orientation=st.one_of(st.none(), st.integers(1, 8)), seed=st.integers(0, 2**16))
def test_valid_files_of_every_mode_size_and_orientation(tmp_path, mode, fmt, width, height, orientation, seed):
    if mode not in FORMATS[fmt]:
        return
    if fmt == "WEBP" and max(width, height) > 16383:
        return
    path = tmp_path / f"fuzz.{fmt.lower()}"
    path.write_bytes(encode(make_image(mode, width, height, seed), fmt, orientation))
    with Image.open(path) as stored:  # what the writer really stored (not every format keeps EXIF)
        rotated = stored.getexif().get(0x0112) in (5, 6, 7, 8)
        size_at_open = stored.size
        stored.load()
        pillow_scrambles = fmt == "TIFF" and rotated and stored.size != size_at_open
    expected = (width, height) if rotated else (height, width)
    if pillow_scrambles:  # refused with one line rather than loaded wrong (see images._open)
        with pytest.raises(ImageLoadError, match="cannot decode a TIFF whose orientation tag rotates it"):
            load_image(path)
        return
    tensor = check_outcome(path, expected_hw=expected)
    if min(width, height) >= MIN_SIDE:
        assert tensor is not None, f"a valid {width}x{height} {mode} {fmt} must load"
    else:
        assert tensor is None, "too small for VGG19 must be refused"


@FAST
@given(fmt=st.sampled_from(["PNG", "JPEG", "TIFF", "GIF", "WEBP", "BMP"]), cut=st.floats(0.0, 0.99),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8), seed=st.integers(0, 99))
def test_truncated_and_corrupted_bytes(tmp_path, fmt, cut, flips, seed):
    mode = "RGB" if "RGB" in FORMATS[fmt] else "L"
    data = bytearray(encode(make_image(mode, 40, 30, seed), fmt, None))
    for where, value in flips:
        data[int(where * (len(data) - 1))] = value
    data = data[: max(1, int(len(data) * (1 - cut)))] if cut > 0.05 else data
    path = tmp_path / f"broken.{fmt.lower()}"
    path.write_bytes(bytes(data))
    check_outcome(path)


@FAST
@given(data=st.binary(min_size=1, max_size=2000))
def test_arbitrary_bytes_are_not_images(tmp_path, data):
    path = tmp_path / "noise.jpg"
    path.write_bytes(data)
    check_outcome(path)


@pytest.mark.parametrize("width, height", [(2000, 16), (16, 2000), (4096, 17)])
def test_very_wide_and_tall_strips(tmp_path, width, height):
    path = tmp_path / "strip.png"
    make_image("RGB", width, height, 0).save(path)
    assert check_outcome(path, expected_hw=(height, width)) is not None
    with pytest.raises(ImageLoadError, match="too small"):
        load_image(path, max_size=256)  # shrinking the long side to 256 leaves a side under 16
