"""Paths as students' laptops have them (Windows profiles, French course folders): spaces, apostrophes and
non-ASCII letters, everywhere the kit takes a path. tpviz grade and tpviz download are covered in
test_grading_order.py and test_download.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import tpviz

from .test_data import _fake_val

AWKWARD = "Mes documents/cours d'été – IA ü 学"


@pytest.fixture
def awkward(tmp_path: Path) -> Path:
    folder = tmp_path / AWKWARD
    folder.mkdir(parents=True)
    return folder


def test_load_image(awkward: Path):
    path = awkward / "photo de vacances é.png"
    Image.fromarray(np.full((300, 400, 3), 200, dtype=np.uint8)).save(path)
    x = tpviz.load_image(path)
    assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32
    assert torch.equal(tpviz.load_image(str(path)), x)


def test_weights_dir(awkward: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch):
    from tpviz.imagenet.models import _build

    torch.save(_build("squeezenet1_1").state_dict(), awkward / "squeezenet1_1_imagenet.pth")
    monkeypatch.setenv("TPVIZ_WEIGHTS_DIR", str(awkward))
    model = tpviz.load_model("squeezenet1_1", device="cpu", progress=False)
    info = tpviz.model_info(model)
    assert not info.random and str(awkward / "squeezenet1_1_imagenet.pth") in info.source


def test_data_dir(awkward: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch):
    _fake_val(awkward / "imagenet_val_25.npz")
    monkeypatch.setenv("TPVIZ_DATA_DIR", str(awkward))
    assert tpviz.load_imagenet_val(count=2).names == ["hay", "quail"]
