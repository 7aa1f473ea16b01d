"""Bad files where tpviz reads one: a photo, a weights file, the sample images, the rubric, the folders named by
the environment. Each is one tpviz error naming the file and the fix, never a raw traceback or a silent load.
Every bad file is built here, in tmp_path."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

import tpviz
from tpviz.grading.rubric import load_rubric
from tpviz.imagenet.images import MAX_PIXELS

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG (a few dozen bytes) that declares width x height pixels: a decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """Records every PIL decode (load) and every resize (the image resized and the size asked for)."""
    seen: dict[str, list] = {"load": [], "resize": []}
    load, resize = Image.Image.load, Image.Image.resize

    def spy_load(self, *a, **kw):
        seen["load"].append(self.size)
        return load(self, *a, **kw)

    def spy_resize(self, size, *a, **kw):
        seen["resize"].append((self.size, tuple(size)))
        return resize(self, size, *a, **kw)

    monkeypatch.setattr(Image.Image, "load", spy_load)
    monkeypatch.setattr(Image.Image, "resize", spy_resize)
    return seen


# ---------------------------------------------------------------------------------------------- photos


@pytest.mark.parametrize("size", [(1, 20000), (20000, 1)], ids=["1x20000", "20000x1"])
def test_a_thin_png_is_read_without_blowing_up(tmp_path: Path, spy: dict[str, list], size: tuple[int, int]):
    path = tmp_path / "strip.png"
    Image.new("L", size, 200).save(path)
    spy["resize"].clear()
    assert path.stat().st_size < 1000
    x = tpviz.load_image(path)
    assert x.shape == (1, 3, 224, 224) and torch.isfinite(x).all()
    assert [out for _, out in spy["resize"]] == [(224, 224)], "only the kept square is resampled, straight to 224"


@pytest.mark.parametrize("width, height", [(50000, 50000), (10000, 10000), (7000, 7000)])
def test_a_huge_declared_size_is_refused_before_decoding(tmp_path: Path, spy: dict[str, list], width: int, height: int):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header(width, height))
    with pytest.raises(tpviz.DataError, match=r"bomb\.png.*(too large|megapixels).*shrink it"):
        tpviz.load_image(path)
    assert spy["load"] == [], "nothing may be decoded"


def test_the_pixel_limit_counts_a_jpeg_at_its_reduced_decoding(tmp_path: Path, spy: dict[str, list]):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (2400, 1800), (10, 200, 30)).save(path, quality=80)
    spy["load"].clear()  # saving it decoded nothing of the file, but counts as a load
    assert tpviz.read_image(path).shape == (224, 224, 3)
    assert max(w * h for w, h in spy["load"]) <= 600 * 450, "a JPEG is decoded at 1/2, 1/4 or 1/8 scale"
    assert 2400 * 1800 < MAX_PIXELS


def test_a_large_in_memory_image_is_resampled_only_where_it_is_kept(spy: dict[str, list]):
    pixels = tpviz.imagenet.images.fit_image(Image.new("RGB", (30000, 2), (255, 0, 0)), size=16, resize=None)
    assert pixels.shape == (16, 16, 3) and (pixels == (255, 0, 0)).all()
    assert [out for _, out in spy["resize"]] == [(16, 16)]


def test_a_photo_path_with_a_tilde_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    Image.new("RGB", (40, 30)).save(tmp_path / "cat.png")
    assert tpviz.load_image("~/cat.png", size=16, resize=None).shape == (1, 3, 16, 16)


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe.png")
    return tmp / "pipe.png"


@pytest.mark.parametrize("make, match", [
    (lambda tmp: "https://example.org/cat.jpg", r"is a URL.*download it first"),
    (lambda tmp: tmp, r"is a folder, not a file"),
    (lambda tmp: tmp / "missing.png", r"no image file at .*missing\.png"),
    (lambda tmp: (tmp / "link.png").symlink_to(tmp / "gone.png") or tmp / "link.png", r"symbolic link to .*gone\.png.*does not exist"),
    (lambda tmp: (tmp / "loop.png").symlink_to(tmp / "loop.png") or tmp / "loop.png", r"loop of symbolic links"),
    (lambda tmp: (tmp / "notes.txt").write_text("x") and tmp / "notes.txt" / "cat.png", r"a part of that path is a file"),
    (_fifo, r"not a regular file"),
], ids=["url", "folder", "missing", "broken-link", "link-loop", "file-as-folder", "fifo"])
def test_a_bad_photo_path_is_one_clear_error(tmp_path: Path, make, match: str):
    with pytest.raises(tpviz.DataError, match=match):
        tpviz.load_image(make(tmp_path))


def test_an_unreadable_photo_says_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    Image.new("RGB", (8, 8)).save(tmp_path / "secret.png")
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # what a file without read permission gives
    with pytest.raises(tpviz.DataError, match=r"secret\.png.*permission denied"):
        tpviz.read_image(tmp_path / "secret.png")


@pytest.mark.parametrize("path", [None, 42, "", "   "], ids=["None", "int", "empty", "blank"])
def test_something_that_is_not_a_path(path):
    with pytest.raises(tpviz.InputError, match="path"):
        tpviz.load_image(path)


@pytest.mark.parametrize("kw, match", [({"size": 0}, "size must be"), ({"size": "224"}, "size must be"),
                                       ({"size": float("inf")}, "not a finite"), ({"size": 300, "resize": 256}, "resize must be"),
                                       ({"size": 10**6}, "size must be")])
def test_bad_sizes(tmp_path: Path, kw: dict, match: str):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    with pytest.raises(tpviz.InputError, match=match):
        tpviz.load_image(tmp_path / "a.png", **kw)


@NO_CUDA
def test_cuda_without_cuda_is_load_model_s_error_everywhere(tmp_path: Path):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    for call in (lambda: tpviz.load_image(tmp_path / "a.png", device="cuda"),
                 lambda: tpviz.preprocess(np.zeros((8, 8, 3), np.uint8), device="cuda")):
        with pytest.raises(tpviz.InputError, match=r"device 'cuda' asked for, but CUDA is not available here"):
            call()
    with pytest.raises(tpviz.InputError, match="unknown device 'tpu'"):
        tpviz.preprocess(np.zeros((8, 8, 3), np.uint8), device="tpu")


# ---------------------------------------------------------------------------------------------- weights


@pytest.fixture
def weights_dir(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = isolated_env / "weights"
    folder.mkdir()
    monkeypatch.setenv("TPVIZ_WEIGHTS_DIR", str(folder))
    return folder


def _state(name: str = "squeezenet1_1") -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return torchvision.models.get_model(name, weights=None).state_dict()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")], ids=["nan", "inf", "-inf"])
def test_weights_with_non_finite_values_are_refused_at_load(weights_dir: Path, value: float):
    state = _state()
    state["classifier.1.bias"][7] = value
    torch.save(state, weights_dir / "squeezenet1_1_imagenet.pth")
    with pytest.raises(tpviz.WeightsError, match=r"squeezenet1_1_imagenet\.pth' holds NaN or infinite values "
                                                   r"\(in 'classifier\.1\.bias'\).*download it again"):
        tpviz.load_model("squeezenet1_1", device="cpu")


def test_a_dataparallel_checkpoint_loads_and_says_so(weights_dir: Path):
    state = _state()
    torch.save({f"module.{k}": v for k, v in state.items()}, weights_dir / "squeezenet1_1_imagenet.pth")
    with pytest.warns(UserWarning, match=r"saved from DataParallel: its keys' 'module\.' prefix is removed"):
        model = tpviz.load_model("squeezenet1_1", device="cpu")
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_a_pickled_whole_model_says_to_save_its_state_dict(weights_dir: Path):
    torch.save(torchvision.models.squeezenet1_1(), weights_dir / "squeezenet1_1_imagenet.pth")
    with pytest.raises(tpviz.WeightsError) as info:
        tpviz.load_model("squeezenet1_1", device="cpu")
    message = str(info.value)
    assert "holds a whole pickled model" in message and "torch.save(model.state_dict(), path)" in message
    assert "\x1b" not in message and "corrupt" not in message


@pytest.mark.parametrize("data, match", [
    (b"", r"corrupt or not a PyTorch file \(EOFError: the file is empty or ends early\)"),
    (b"\x80\x02garbage", r"corrupt or not a PyTorch file \(Unsupported operand"),
    ("half", r"corrupt or not a PyTorch file"),
], ids=["empty", "garbage", "truncated"])
def test_a_damaged_weights_file_is_corrupt_without_torch_s_advice_or_colours(weights_dir: Path, data, match: str):
    path = weights_dir / "squeezenet1_1_imagenet.pth"
    if data == "half":
        torch.save(_state(), path)
        data = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(data)
    with pytest.raises(tpviz.WeightsError, match=match) as info:
        tpviz.load_model("squeezenet1_1", device="cpu")
    assert "\x1b" not in str(info.value) and "can still be loaded" not in str(info.value)


@pytest.mark.parametrize("where", ["local", "hub"])
def test_a_folder_where_the_weights_file_should_be(weights_dir: Path, monkeypatch: pytest.MonkeyPatch, where: str):
    from tpviz.imagenet import weights

    path = weights_dir / "squeezenet1_1_imagenet.pth"
    if where == "hub":  # torch's cache: $TORCH_HOME/hub/checkpoints/<the file's name in its URL>
        path = weights.hub_cache_path(weights.weights_url("squeezenet1_1"))
    path.mkdir(parents=True)
    monkeypatch.setattr(weights, "download_state_dict", lambda *a, **k: pytest.fail("downloaded past the folder"))
    with pytest.raises(tpviz.WeightsError) as info:
        tpviz.load_model("squeezenet1_1", device="cpu")
    assert f"weight file {str(path)!r} is a folder, not a file" in str(info.value)
    assert "remove or rename that folder" in str(info.value)


@pytest.mark.parametrize("env, error, match", [
    ("TPVIZ_WEIGHTS_DIR", tpviz.WeightsError, r"\$TPVIZ_WEIGHTS_DIR is .*, which is not a folder.*squeezenet1_1_imagenet\.pth"),
    ("TPVIZ_DATA_DIR", tpviz.DataError, r"\$TPVIZ_DATA_DIR is .*, which is not a folder.*imagenet_val_25\.npz"),
])
def test_an_environment_folder_that_names_a_file_or_a_url(isolated_env: Path, monkeypatch: pytest.MonkeyPatch, env,
                                                          error, match):
    (isolated_env / "notes.txt").write_text("x")
    for value, why in [(str(isolated_env / "notes.txt"), "which is not a folder"), ("https://example.org/w/", "a URL")]:
        monkeypatch.setenv(env, value)
        with pytest.raises(error, match=match.replace("which is not a folder", why)):
            tpviz.load_model("squeezenet1_1", device="cpu") if env == "TPVIZ_WEIGHTS_DIR" else tpviz.load_imagenet_val(1)


# ---------------------------------------------------------------------------------------------- the sample images


def _val(**arrays: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    base = {"X": rng.integers(0, 256, (25, 224, 224, 3), dtype=np.uint8), "y": np.arange(25) * 7}
    return {**base, **arrays}


def _write_val(folder: Path, content) -> None:
    path = folder / "imagenet_val_25.npz"
    if isinstance(content, dict):
        np.savez(path, **content)
    elif content == "truncated":
        np.savez(path, **_val())
        path.write_bytes(path.read_bytes()[:100_000])
    elif content == "folder":
        path.mkdir()
    else:
        path.write_bytes(content)


@pytest.mark.parametrize("content, match", [
    ("truncated", r"is damaged or not CS231n's imagenet_val_25\.npz"),
    (b"", r"is damaged or not CS231n's imagenet_val_25\.npz"),
    (b"<html>404 Not Found</html>", r"is damaged or not CS231n's imagenet_val_25\.npz"),
    (_val(X=np.zeros((25, 32, 32, 3), np.uint8)), r"images X are uint8 \(25, 32, 32, 3\), not uint8 \(N, 224, 224, 3\)"),
    (_val(X=np.zeros((25, 224, 224, 3), np.float32)), r"images X are float32"),
    (_val(X=np.zeros((5, 224, 224, 3), np.uint8), y=np.arange(5)), r"it holds 5 images, not 25"),
    (_val(y=np.arange(25) + 990), r"labels run from 990 to 1014, outside ImageNet's 0-999"),
    (_val(y=np.arange(25) - 1), r"labels run from -1 to 23"),
    (_val(y=np.arange(25.0)), r"labels y are float64 \(25,\), not 25 integers"),
    (_val(y=np.arange(24)), r"labels y are int64 \(24,\), not 25 integers"),
    ({"X": _val()["X"]}, r"is damaged.*y is not a file in the archive"),
    (_val(y=np.array([None] * 25, dtype=object)), r"is damaged or not CS231n's"),
    ("folder", r"imagenet_val_25\.npz' is a folder, not a file"),
], ids=["truncated", "empty", "html", "small-images", "float-images", "5-images", "labels-1000", "labels-negative",
        "float-labels", "24-labels", "no-labels", "pickled-labels", "folder"])
def test_a_bad_sample_file_says_delete_it_and_how_it_comes_back(isolated_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 content, match: str):
    _write_val(isolated_env, content)
    monkeypatch.setenv("TPVIZ_DATA_DIR", str(isolated_env))
    with pytest.raises(tpviz.DataError, match=match) as info:
        tpviz.load_imagenet_val(count=3)
    assert "delete it: the next tpviz.load_imagenet_val() downloads it again from https://" in str(info.value)


# ---------------------------------------------------------------------------------------------- the rubric


@pytest.mark.parametrize("make, match", [
    (lambda tmp: (tmp / "deep.json").write_text("[" * 100_000 + "]" * 100_000) and tmp / "deep.json", "nested far too deeply"),
    (lambda tmp: (tmp / "big.json").write_text('{"questions": ' + "1" * 5000 + "}") and tmp / "big.json", "not valid JSON"),
    (lambda tmp: (tmp / "latin1.json").write_bytes(b'{"q": "\xe9"}') and tmp / "latin1.json", "cannot be read"),
    (lambda tmp: tmp, r"cannot be read \(rubric file .* is a folder"),
    (lambda tmp: "https://example.org/rubric.json", r"cannot be read \(rubric file .* is a URL"),
], ids=["nested-100000", "huge-number", "not-utf8", "folder", "url"])
def test_a_bad_rubric_is_one_input_error(tmp_path: Path, make, match: str):
    with pytest.raises(tpviz.InputError, match=f"rubric .*{match}"):
        load_rubric(make(tmp_path))
