"""Pixels <-> model inputs, exactly; and photos of every kind -> (1, 3, 224, 224)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import tpviz


def test_preprocess_normalises_each_channel():
    pixels = np.zeros((1, 2, 2, 3), dtype=np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = 0, 255, 128
    x = tpviz.preprocess(pixels)
    assert x.shape == (1, 3, 2, 2) and x.dtype == torch.float32
    expected = [(0 - 0.485) / 0.229, (1 - 0.456) / 0.224, (128 / 255 - 0.406) / 0.225]
    for c in range(3):
        torch.testing.assert_close(x[0, c], torch.full((2, 2), expected[c]))


def test_round_trip_is_exact_for_every_pixel_value():
    values = np.arange(256, dtype=np.uint8)
    pixels = np.stack([values, values[::-1], np.roll(values, 77)], axis=-1).reshape(1, 16, 16, 3)
    assert np.array_equal(tpviz.deprocess(tpviz.preprocess(pixels)), pixels)


def test_single_image_shapes_and_input_not_modified():
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    copy = pixels.copy()
    x = tpviz.preprocess(pixels)
    assert x.shape == (1, 3, 5, 7)
    assert np.array_equal(pixels, copy)
    assert tpviz.deprocess(x[0]).shape == (5, 7, 3)
    assert np.array_equal(tpviz.deprocess(x[0]), pixels)


def test_deprocess_leaves_its_input_alone():
    x = torch.randn(2, 3, 4, 4)
    copy = x.clone()
    tpviz.deprocess(x)
    assert torch.equal(x, copy)


def test_deprocess_clips_out_of_range_values():
    x = torch.full((1, 3, 2, 2), 100.0)
    assert (tpviz.deprocess(x) == 255).all()
    assert (tpviz.deprocess(-x) == 0).all()


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 4, 4, 3), dtype=np.float32), "uint8"),
    (np.zeros((2, 3, 4, 4), dtype=np.uint8), r"\(N, H, W, 3\)"),
    ([[1, 2, 3]], "uint8 array"),
])
def test_preprocess_bad_input(bad, match):
    with pytest.raises(tpviz.InputError, match=match):
        tpviz.preprocess(bad)


def test_deprocess_bad_input():
    with pytest.raises(tpviz.InputError, match="float"):
        tpviz.deprocess(torch.zeros(1, 3, 2, 2, dtype=torch.uint8))
    with pytest.raises(tpviz.InputError, match=r"\(N, 3, H, W\)"):
        tpviz.deprocess(torch.zeros(1, 4, 2, 2))


def _save(tmp: Path, name: str, img: Image.Image, **kw) -> Path:
    path = tmp / name
    img.save(path, **kw)
    return path


@pytest.mark.parametrize("mode, size", [("RGB", (640, 480)), ("L", (300, 500)), ("RGBA", (250, 250)),
                                        ("P", (400, 300)), ("I;16", (260, 300)), ("RGB", (50, 30)),
                                        ("CMYK", (300, 300)), ("LA", (256, 256))])
def test_any_photo_becomes_a_224_rgb_input(tmp_path, mode, size):
    img = Image.new(mode, size)
    ext = "jpg" if mode in ("RGB", "L", "CMYK") else "png"
    if mode == "I;16":
        img = Image.fromarray(np.full(size[::-1], 40000, dtype=np.uint16))
    path = _save(tmp_path, f"img.{ext}", img)
    before = path.read_bytes()
    x = tpviz.load_image(path)
    assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32
    assert path.read_bytes() == before, "the photo was modified"


def test_transparent_pixels_become_white_and_centre_crop_is_centred(tmp_path):
    arr = np.zeros((300, 400, 4), dtype=np.uint8)  # fully transparent, black
    arr[100:200, 150:250] = (255, 0, 0, 255)       # an opaque red square in the middle
    px = tpviz.read_image(_save(tmp_path, "a.png", Image.fromarray(arr, "RGBA")), size=224, resize=None)
    assert px.shape == (224, 224, 3)
    assert tuple(px[112, 112]) == (255, 0, 0)   # centre: red
    assert tuple(px[2, 2]) == (255, 255, 255)   # transparent corner: white, not black


def test_exif_rotation_is_followed(tmp_path):
    arr = np.zeros((100, 200, 3), dtype=np.uint8)
    arr[:, :100] = 255  # left half white (landscape)
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = _save(tmp_path, "rot.jpg", img, exif=exif, quality=95)
    px = tpviz.read_image(path, size=100, resize=None)
    # displayed as portrait: top half white after rotation
    assert px[:40].mean() > 200 and px[60:].mean() < 55


def test_unreadable_and_missing_files_are_clear_errors(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    with pytest.raises(tpviz.DataError, match=r"cannot read .*notes\.jpg.*JPEG or PNG"):
        tpviz.load_image(bad)
    with pytest.raises(tpviz.DataError, match="no image file"):
        tpviz.load_image(tmp_path / "missing.png")


def _samples() -> list[Path]:
    folder = os.environ.get("TPVIZ_DATA_DIR")
    return sorted((Path(folder) / "samples").glob("*.JPEG")) if folder else []


@pytest.mark.skipif(not _samples(), reason="needs the sample photos in $TPVIZ_DATA_DIR/samples")
def test_real_sample_photos_load():
    xs = torch.cat([tpviz.load_image(p) for p in _samples()])
    assert xs.shape == (len(_samples()), 3, 224, 224)
    assert torch.isfinite(xs).all() and xs.std() > 0.3
