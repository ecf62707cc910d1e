import io

import numpy as np
import pytest
import torch
from PIL import Image

import nst_helpers as nh
from nst_helpers.core import images as I

from conftest import DATA


def rgb_gradient(w=40, h=24) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.uint8)[:, None].repeat(w, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=2), "RGB")


def test_loads_bundled_photo_as_unit_range_tensor():
    t = nh.load_image(DATA / "content" / "tubingen.jpg")
    assert t.shape == (1, 3, 768, 1024) and t.dtype == torch.float32
    assert 0 <= t.min() and t.max() <= 1 and t.max() > 0.9


def test_loaded_image_is_contiguous_so_a_plain_lbfgs_loop_runs():
    image = nh.load_image(DATA / "content" / "tubingen.jpg", max_size=32)
    assert image.is_contiguous()
    x = image.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], max_iter=1)

    def closure():
        opt.zero_grad()
        loss = (x ** 2).mean()
        loss.backward()
        return loss
    opt.step(closure)  # torch's L-BFGS views the gradient as flat: fails on a permuted tensor


def test_max_size_shrinks_longer_side_and_never_enlarges():
    assert nh.load_image(DATA / "content" / "tubingen.jpg", max_size=128).shape == (1, 3, 96, 128)
    assert nh.load_image(DATA / "content" / "chelsea.jpg", max_size=2000).shape == (1, 3, 300, 451)


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"])
def test_every_mode_becomes_rgb(tmp_path, mode):
    img = rgb_gradient()
    if mode in ("I;16", "I", "F"):
        grey = np.asarray(img.convert("L"), dtype=np.float32) / 255
        scale = {"I;16": 65535, "I": 65535, "F": 1.0}[mode]
        arr = (grey * scale).astype({"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode])
        img = Image.fromarray(arr, mode) if mode != "I;16" else Image.fromarray(arr)
    else:
        img = img.convert(mode)
    suffix = ".tif" if mode in ("CMYK", "F", "I") else ".png"
    path = tmp_path / f"img{suffix}"
    img.save(path)
    t = nh.load_image(path)
    assert t.shape == (1, 3, 24, 40)
    assert 0 <= t.min() and t.max() <= 1
    if mode in ("L", "I;16", "I", "F"):
        expected = torch.from_numpy(np.asarray(rgb_gradient().convert("L"), dtype=np.float32) / 255)
        assert torch.allclose(t[0, 0], expected, atol=2 / 255), "grey levels must keep their scale"
        assert torch.equal(t[0, 0], t[0, 1])


def test_transparency_is_composited_on_white(tmp_path):
    img = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    img.save(tmp_path / "clear.png")
    assert torch.allclose(nh.load_image(tmp_path / "clear.png"), torch.ones(1, 3, 20, 20))


def test_exif_orientation_is_applied(tmp_path):
    img = rgb_gradient(40, 24)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    img.save(tmp_path / "rotated.jpg", exif=exif)
    t = nh.load_image(tmp_path / "rotated.jpg")
    assert t.shape == (1, 3, 40, 24)


def test_animated_image_uses_first_frame_and_says_so(tmp_path):
    frames = [Image.new("RGB", (32, 32), c) for c in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    with pytest.warns(UserWarning, match="animated image with 2 frames; using the first"):
        t = nh.load_image(tmp_path / "anim.gif")
    assert t[0, 0].mean() > 0.9 and t[0, 2].mean() < 0.1


def test_pil_image_input():
    t = nh.load_image(rgb_gradient())
    assert t.shape == (1, 3, 24, 40)


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def png_bytes(w=64, h=64) -> bytes:
    buf = io.BytesIO()
    rgb_gradient(w, h).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("make, reason", [
    (lambda p: p / "missing.jpg", "file not found"),
    (lambda p: p, "is a directory"),
    (lambda p: write(p, "empty.jpg", b""), "file is empty"),
    (lambda p: write(p, "notes.jpg", b"hello, I am text " * 20), "not an image"),
    (lambda p: write(p, "cut.png", png_bytes(256, 256)[:len(png_bytes(256, 256)) // 2]), "corrupt or truncated"),
    (lambda p: write(p, "cut.jpg", (DATA / "content" / "chelsea.jpg").read_bytes()[:5000]), "corrupt or truncated"),
    (lambda p: write(p, "tiny.png", png_bytes(12, 40)), "too small"),
])
def test_bad_files_raise_one_line_error_naming_the_file(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(nh.ImageLoadError) as info:
        nh.load_image(path)
    message = str(info.value)
    assert str(path) in message and reason in message and "\n" not in message
    assert info.value.__context__ is None or info.value.__suppress_context__, "no PIL traceback chained"


def test_decompression_bomb_is_an_error_not_a_warning(tmp_path, monkeypatch):
    path = write(tmp_path, "big.png", png_bytes(64, 64))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)  # 4096 px: over the limit, under twice it
    with pytest.raises(nh.ImageLoadError, match="too large"):
        nh.load_image(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # over twice the limit: Pillow's own error
    with pytest.raises(nh.ImageLoadError, match="too large"):
        nh.load_image(path)


def test_absurd_size_and_bad_max_size(tmp_path, monkeypatch):
    path = write(tmp_path, "ok.png", png_bytes(64, 64))
    monkeypatch.setattr(I, "MAX_PIXELS", 1000)
    with pytest.raises(nh.ImageLoadError, match="too large"):
        nh.load_image(path)
    with pytest.raises(nh.ImageLoadError, match="max_size must be an integer >= 16"):
        nh.load_image(path, max_size=4)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_save_round_trip(tmp_path, suffix):
    t = nh.load_image(rgb_gradient(48, 32))
    out = nh.save_image(t, tmp_path / f"out{suffix}")
    back = nh.load_image(out)
    tolerance = 1 / 255 if suffix == ".png" else 0.06
    assert (back - t).abs().max() <= tolerance + 1e-6
    assert [p.name for p in tmp_path.iterdir()] == [f"out{suffix}"], "no temporary file may be left"


def test_save_rejects_bad_targets(tmp_path):
    t = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="unknown image suffix"):
        nh.save_image(t, tmp_path / "out.xyz")
    with pytest.raises(ValueError, match="does not exist"):
        nh.save_image(t, tmp_path / "no" / "out.png")
    with pytest.raises(ValueError, match="expected shape"):
        nh.save_image(torch.rand(1, 4, 16, 16), tmp_path / "out.png")


def test_interrupted_save_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    nh.save_image(torch.zeros(1, 3, 16, 16), target)
    before = target.read_bytes()

    def explode(self, fp, *args, **kwargs):
        fp.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", explode)
    with pytest.raises(KeyboardInterrupt):
        nh.save_image(torch.ones(1, 3, 16, 16), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_rotated_tiff_loads_as_its_png_twin_or_is_refused_in_one_line(tmp_path, orientation):
    """Pillow 12-13 scramble greyscale TIFFs whose orientation tag transposes them: never hand those out."""
    pixels = (np.arange(20 * 28) % 251).astype(np.uint8).reshape(20, 28)
    exif = Image.Exif()
    exif[0x0112] = orientation
    for fmt in ("png", "tiff"):
        Image.fromarray(pixels).save(tmp_path / f"photo.{fmt}", exif=exif.tobytes())
    png = I.load_image(tmp_path / "photo.png")
    assert png.shape[-2:] == ((28, 20) if orientation in (6, 8) else (20, 28))
    try:
        tiff = I.load_image(tmp_path / "photo.tiff")
    except I.ImageLoadError as error:
        assert orientation in (6, 8) and "\n" not in str(error) and "photo.tiff" in str(error)
        return
    assert torch.equal(tiff, png)
