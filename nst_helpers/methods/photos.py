"""Training photos for the feed-forward network: loading a folder, checking, random crops.

Images are (1, 3, H, W) RGB float in [0, 1]; a batch of crops is (B, 3, crop, crop).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch

from ..core.images import ImageLoadError, load_image, resize
from ..core.validation import check_image

#: A photo's shorter side must be at least this to be cropped from (the network halves twice).
MIN_PHOTO_SIDE = 32
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif")


def check_photos(photos: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The training photos as a list of (1, 3, H, W) tensors in [0, 1], each side >= MIN_PHOTO_SIDE."""
    if isinstance(photos, torch.Tensor):
        photos = [photos]
    if not isinstance(photos, (list, tuple)) or not photos:
        raise ValueError("photos: give a non-empty list of images (1, 3, H, W); load a folder with load_photos")
    for i, photo in enumerate(photos):
        check_image(photo, f"photos[{i}]")
        if min(photo.shape[-2:]) < MIN_PHOTO_SIDE:
            raise ValueError(f"photos[{i}]: {photo.shape[-1]}x{photo.shape[-2]} is too small for training; "
                             f"the shorter side must be at least {MIN_PHOTO_SIDE} px")
    return list(photos)


def photo_files(folder: str | os.PathLike) -> list[Path]:
    """The image files (by suffix, hidden files left out) in `folder`, sorted; ValueError, one line,
    for a missing folder or one without photos."""
    folder = Path(folder)
    if not folder.exists():
        raise ValueError(f"{folder}: folder not found")
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in PHOTO_SUFFIXES)
    if not files:
        raise ValueError(f"{folder}: no photos in this folder (looked for {', '.join(PHOTO_SUFFIXES)})")
    return files


def load_photos(folder: str | os.PathLike, max_size: int | None = 512) -> list[torch.Tensor]:
    """Every photo in `folder` as (1, 3, H, W) RGB in [0, 1] (any mode converted), longer side
    shrunk to `max_size`. Raises ImageLoadError (a ValueError, one line naming the file) for an
    unreadable photo or one whose shorter side is below MIN_PHOTO_SIDE, ValueError for a missing
    or empty folder."""
    photos = []
    for path in photo_files(folder):
        photo = load_image(path, max_size=max_size)
        if min(photo.shape[-2:]) < MIN_PHOTO_SIDE:
            raise ImageLoadError(f"{path}: {photo.shape[-1]}x{photo.shape[-2]} is too small for training; "
                                 f"the shorter side must be at least {MIN_PHOTO_SIDE} px")
        photos.append(photo)
    return photos


def prepare_photos(photos: Sequence[torch.Tensor], photo_size: int, crop: int) -> list[torch.Tensor]:
    """Each photo shrunk to longer side `photo_size` (never enlarged), then enlarged if needed so
    that its shorter side is at least `crop`."""
    out = []
    for photo in photos:
        if max(photo.shape[-2:]) > photo_size:
            photo = resize(photo, photo_size)
        if min(photo.shape[-2:]) < crop:
            h, w = photo.shape[-2:]
            scale = crop / min(h, w)
            photo = resize(photo, (max(crop, round(h * scale)), max(crop, round(w * scale))))
        out.append(photo.contiguous())
    return out


def random_crops(photos: Sequence[torch.Tensor], batch_size: int, crop: int,
                 generator: torch.Generator) -> torch.Tensor:
    """A batch (batch_size, 3, crop, crop) of random crops of random photos, each flipped
    left-right with probability 1/2. Photos must be at least crop x crop (prepare_photos)."""
    crops = []
    for _ in range(batch_size):
        photo = photos[int(torch.randint(len(photos), (1,), generator=generator))]
        h, w = photo.shape[-2:]
        top = int(torch.randint(h - crop + 1, (1,), generator=generator))
        left = int(torch.randint(w - crop + 1, (1,), generator=generator))
        piece = photo[..., top:top + crop, left:left + crop]
        if bool(torch.rand((), generator=generator) < 0.5):
            piece = piece.flip(-1)
        crops.append(piece)
    return torch.cat(crops)
