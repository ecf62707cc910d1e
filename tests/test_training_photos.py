"""The feed-forward network's training photos: credited, loadable, and never the held-out photos."""
import hashlib
import io
import re

import numpy as np
import pytest
from PIL import Image

import nst_helpers as nh
from nst_helpers.methods.photos import MIN_PHOTO_SIDE, photo_files

from conftest import DATA

PHOTOS = DATA / "photos"
HELD_OUT = sorted((DATA / "content").glob("*.jpg"))


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def thumbnail(image: Image.Image) -> np.ndarray:
    """16x16 grey, values in [0, 1], contrast-normalized: the same for a resized or re-encoded copy."""
    small = np.asarray(image.convert("L").resize((16, 16), Image.Resampling.BOX), dtype=np.float64) / 255
    return (small - small.mean()) / (small.std() + 1e-6)


def near_duplicate(a: Image.Image, b: Image.Image) -> bool:
    return float(np.abs(thumbnail(a) - thumbnail(b)).mean()) < 0.25


def training_files():
    return photo_files(PHOTOS)


def test_there_are_at_least_17_photos_and_each_is_credited():
    files = training_files()
    assert len(files) >= 17
    sources = (DATA / "SOURCES.md").read_text()
    section = sources[sources.index("## Training photos"):]
    credited = set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.M))
    assert {f.name for f in files} <= credited
    for f in files:
        with Image.open(f) as img:
            assert max(img.size) <= 512 and f.stat().st_size < 200_000


def test_held_out_photos_are_never_in_the_training_set():
    training = {sha256(f): f.name for f in training_files()}
    assert len(HELD_OUT) >= 5
    for held in HELD_OUT:
        assert sha256(held) not in training, held.name
        with Image.open(held) as a:
            for f in training_files():
                with Image.open(f) as b:
                    assert not near_duplicate(a, b), f"{f.name} looks like the held-out {held.name}"


@pytest.mark.parametrize("held", HELD_OUT, ids=lambda p: p.name)
def test_the_near_duplicate_check_finds_a_shrunk_grey_reencoded_copy(held):
    with Image.open(held) as img:
        copy = img.convert("L").resize((img.width // 3, img.height // 3))
        buffer = io.BytesIO()
        copy.save(buffer, format="JPEG", quality=60)
        with Image.open(buffer) as again:
            assert near_duplicate(img, again)


def test_every_photo_loads_as_rgb_large_enough_to_train_on():
    photos = nh.load_photos(PHOTOS)
    assert len(photos) == len(training_files())
    for photo in photos:
        assert photo.shape[:2] == (1, 3) and min(photo.shape[-2:]) >= MIN_PHOTO_SIDE
