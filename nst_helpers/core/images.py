"""Loading and saving images as tensors.

Every image in this project is a float tensor of shape (1, 3, H, W), RGB, values in [0, 1].
"""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

ImageSource = Union[str, os.PathLike, Image.Image]

#: VGG19 pools four times before conv5, so a side must be at least 2**4 pixels.
MIN_SIDE = 16
EXIF_ORIENTATION = 0x0112
#: Larger than this (in pixels) is refused as absurd; Pillow's own bomb limit also applies.
MAX_PIXELS = 64_000_000


class ImageLoadError(ValueError):
    """An input that is not a usable image. The message is one line naming the file and the reason."""


def _name(source: ImageSource) -> str:
    if isinstance(source, Image.Image):
        return getattr(source, "filename", "") or "<PIL image>"
    return os.fspath(source)


def _open(source: ImageSource) -> Image.Image:
    """Open and fully decode `source`, turning every Pillow failure into ImageLoadError."""
    name = _name(source)
    if isinstance(source, Image.Image):
        return source
    path = Path(source)
    if not path.exists():
        raise ImageLoadError(f"{name}: file not found")
    if path.is_dir():
        raise ImageLoadError(f"{name}: is a directory, not an image file")
    if path.stat().st_size == 0:
        raise ImageLoadError(f"{name}: file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            if getattr(img, "n_frames", 1) > 1:
                warnings.warn(f"{name}: animated image with {img.n_frames} frames; using the first frame",
                              stacklevel=3)
            oriented_size, orientation = img.size, img.getexif().get(EXIF_ORIENTATION)
            img.load()
    except UnidentifiedImageError:
        raise ImageLoadError(f"{name}: not an image (Pillow cannot identify the format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageLoadError(f"{name}: image is too large (decompression bomb limit "
                             f"{Image.MAX_IMAGE_PIXELS} pixels)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageLoadError(f"{name}: corrupt or truncated image ({str(e).splitlines()[0]})") from None
    if img.format == "TIFF" and orientation in (5, 6, 7, 8) and img.size != oriented_size:
        # Pillow 12-13 rotate such TIFFs while decoding but lose the transpose: the pixels come out scrambled.
        raise ImageLoadError(f"{name}: this Pillow cannot decode a TIFF whose orientation tag rotates it "
                             f"({orientation}); save it as PNG or JPEG")
    return img


def _to_rgb_array(img: Image.Image) -> np.ndarray:
    """Any Pillow mode -> float32 array (H, W, 3) in [0, 1]. Transparency is composited on white."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        a = np.asarray(img, dtype=np.float32)
        if img.mode == "F":
            scale = 1.0 if a.max(initial=0.0) <= 1.0 else 255.0
        elif img.mode == "I" and a.max(initial=0) <= 255:
            scale = 255.0
        else:
            scale = 65535.0
        a = np.clip(a / scale, 0.0, 1.0)
        return np.repeat(a[..., None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def _fit(img: Image.Image, max_size: int | None) -> Image.Image:
    if max_size is None or max(img.size) <= max_size:
        return img
    scale = max_size / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def load_image(source: ImageSource, max_size: int | None = None) -> torch.Tensor:
    """Read an image file (or a PIL image) as a tensor (1, 3, H, W), RGB, float32 in [0, 1].

    EXIF orientation is applied; grey, palette, RGBA, CMYK and 16-bit images become RGB.
    `max_size` shrinks the image (never enlarges it) so that its longer side is at most that.
    Raises ImageLoadError for a missing, empty, truncated or non-image file, an absurdly large
    image, or one whose shorter side (after resizing) is below 16 px, too small for VGG19.
    """
    name = _name(source)
    if max_size is not None and (not isinstance(max_size, int) or max_size < MIN_SIDE):
        raise ImageLoadError(f"{name}: max_size must be an integer >= {MIN_SIDE}, got {max_size!r}")
    img = _open(source)
    if img.width * img.height > MAX_PIXELS:
        raise ImageLoadError(f"{name}: {img.width}x{img.height} is too large "
                             f"(over {MAX_PIXELS // 1_000_000} megapixels)")
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block should not make a readable image unusable
        pass
    img = _fit(img, max_size)
    if min(img.size) < MIN_SIDE:
        raise ImageLoadError(f"{name}: {img.width}x{img.height} is too small; VGG19 needs at least "
                             f"{MIN_SIDE}x{MIN_SIDE} pixels")
    array = _to_rgb_array(img)
    # contiguous: torch's L-BFGS views a gradient as flat, and a gradient takes the image's strides
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_pil(image: torch.Tensor) -> Image.Image:
    """A tensor (1, 3, H, W) or (3, H, W) in [0, 1] -> an RGB PIL image (values are clamped)."""
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError(f"image: expected a batch of one, got shape {tuple(image.shape)}")
        image = image[0]
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"image: expected shape (1, 3, H, W) or (3, H, W), got {tuple(image.shape)}")
    array = image.detach().float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array, "RGB")


def save_image(image: torch.Tensor, path: str | os.PathLike) -> Path:
    """Write a tensor (1, 3, H, W) in [0, 1] to `path`; the format follows the suffix.

    The file is written to a temporary name first and then renamed, so an interrupted save never
    leaves a half-written file. Returns the path.
    """
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown image suffix {path.suffix!r} (use .png or .jpg)")
    if not path.parent.is_dir():
        raise ValueError(f"{path}: folder {path.parent} does not exist")
    pil = to_pil(image)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            pil.save(f, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def resize(image: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Resize (1, 3, H, W) to longer side `size` (int) or to exactly (H, W), with antialiasing."""
    h, w = image.shape[-2:]
    if isinstance(size, int):
        scale = size / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return torch.nn.functional.interpolate(image, size=size, mode="bicubic", align_corners=False,
                                           antialias=True).clamp(0, 1)
