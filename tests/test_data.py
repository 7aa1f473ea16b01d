"""load_imagenet_val: TPVIZ_DATA_DIR, then data/, then a hash-checked download; offline is a clear error."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

import tpviz
import tpviz.imagenet.data as _data

PUBLIC_SOURCES = (_data.VAL_URL, _data.VAL_MIRROR, _data.VAL_ARCHIVE)  # before the fixture below replaces them


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test here contacts the internet: the second and third sources are missing local files, and no mirror
    is set."""
    monkeypatch.setattr(_data, "VAL_MIRROR", (tmp_path / "mirror-missing.npz").as_uri())
    monkeypatch.setattr(_data, "VAL_ARCHIVE", (tmp_path / "archive-missing.npz").as_uri())
    monkeypatch.delenv("TPVIZ_MIRROR", raising=False)


def _fake_val(path: Path) -> Path:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (25, 224, 224, 3), dtype=np.uint8)
    y = np.array([958, 85, 244, 182, 294] * 5)
    np.savez(path, X=X, y=y)
    return path


def test_data_dir_comes_first(isolated_env, monkeypatch):
    folder = isolated_env / "d"
    folder.mkdir()
    _fake_val(folder / "imagenet_val_25.npz")
    monkeypatch.setenv("TPVIZ_DATA_DIR", str(folder))
    val = tpviz.load_imagenet_val(count=5)
    assert val.images.shape == (5, 224, 224, 3) and val.images.dtype == np.uint8
    assert val.labels.tolist() == [958, 85, 244, 182, 294]
    assert val.names == ["hay", "quail", "Tibetan mastiff", "Border terrier", "brown bear"]
    images, labels, names = val  # unpacks like CS231n's helper
    assert len(names) == 5


def test_fetch_downloads_checks_and_keeps(tmp_path):
    src = _fake_val(tmp_path / "src.npz")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    target = tmp_path / "data" / "imagenet_val_25.npz"
    assert _data.fetch(src.as_uri(), target, sha256=digest) == target
    assert target.read_bytes() == src.read_bytes()
    assert [p.name for p in target.parent.iterdir()] == [target.name], "a partial file was left behind"


def test_fetch_refuses_a_wrong_hash_and_keeps_nothing(tmp_path):
    src = _fake_val(tmp_path / "src.npz")
    target = tmp_path / "data" / "imagenet_val_25.npz"
    with pytest.raises(tpviz.DataError, match="sha256"):
        _data.fetch(src.as_uri(), target, sha256="0" * 64)
    assert list(target.parent.iterdir()) == []


def test_download_into_repo_data_when_missing(isolated_env, monkeypatch):
    src = _fake_val(isolated_env / "src.npz")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    data_dir = isolated_env / "repo-data"
    monkeypatch.setattr(_data, "repo_data_dir", lambda: data_dir)
    monkeypatch.setattr(_data, "VAL_URL", src.as_uri())
    monkeypatch.setattr(_data, "VAL_SHA256", digest)
    assert tpviz.load_imagenet_val(count=2).labels.tolist() == [958, 85]
    assert (data_dir / "imagenet_val_25.npz").is_file()


def test_missing_offline_says_what_to_do(isolated_env, monkeypatch):
    monkeypatch.setattr(_data, "repo_data_dir", lambda: isolated_env / "repo-data")
    monkeypatch.setattr(_data, "VAL_URL", (isolated_env / "no.npz").as_uri())
    with pytest.raises(tpviz.DataError, match=r"(?s)could not be downloaded.*TPVIZ_DATA_DIR") as info:
        tpviz.load_imagenet_val()
    assert info.value.__suppress_context__
    assert f"no file at {(isolated_env / 'no.npz').as_uri()}; and no file at" in str(info.value), "both sources named"


def test_the_second_source_is_used_when_the_first_fails(isolated_env, monkeypatch):
    src = _fake_val(isolated_env / "src.npz")
    monkeypatch.setattr(_data, "repo_data_dir", lambda: isolated_env / "repo-data")
    monkeypatch.setattr(_data, "VAL_URL", (isolated_env / "no.npz").as_uri())
    monkeypatch.setattr(_data, "VAL_MIRROR", src.as_uri())
    monkeypatch.setattr(_data, "VAL_SHA256", hashlib.sha256(src.read_bytes()).hexdigest())
    assert tpviz.load_imagenet_val(count=1).labels.tolist() == [958]


def test_a_class_mirror_comes_first(isolated_env, monkeypatch):
    mirror = isolated_env / "mirror dir"
    mirror.mkdir()
    src = _fake_val(mirror / "imagenet_val_25.npz")
    monkeypatch.setenv("TPVIZ_MIRROR", mirror.as_uri() + "/")
    monkeypatch.setattr(_data, "VAL_URL", "http://127.0.0.1:9/never-asked")
    monkeypatch.setattr(_data, "VAL_SHA256", hashlib.sha256(src.read_bytes()).hexdigest())
    assert _data.val_sources()[0] == mirror.as_uri() + "/imagenet_val_25.npz"
    monkeypatch.setattr(_data, "repo_data_dir", lambda: isolated_env / "repo-data")
    assert tpviz.load_imagenet_val(count=1).labels.tolist() == [958]


@pytest.mark.parametrize("count", [0, 26, 2.0, "5"])
def test_bad_count(count):
    with pytest.raises(tpviz.InputError, match="1 to 25"):
        tpviz.load_imagenet_val(count=count)


def test_the_pinned_checksum_is_the_issue_s():
    assert _data.VAL_SHA256 == "35141609d22457c791e8fbe10c2d3b09ed0d6a04b669173e9fbebb0b4915cd3c"


def test_the_archive_is_an_independent_last_source(isolated_env, monkeypatch):
    """CS231n's https and http URLs are one host; the Internet Archive's copy is another, tried last."""
    https, http, archive = PUBLIC_SOURCES
    assert https.removeprefix("https") == http.removeprefix("http")
    assert archive.startswith("https://web.archive.org/web/") and archive.endswith("id_/" + http)
    src = _fake_val(isolated_env / "archived.npz")
    monkeypatch.setattr(_data, "repo_data_dir", lambda: isolated_env / "repo-data")
    monkeypatch.setattr(_data, "VAL_URL", (isolated_env / "no.npz").as_uri())
    monkeypatch.setattr(_data, "VAL_ARCHIVE", src.as_uri())
    monkeypatch.setattr(_data, "VAL_SHA256", hashlib.sha256(src.read_bytes()).hexdigest())
    assert _data.val_sources()[-1] == src.as_uri()
    assert tpviz.load_imagenet_val(count=1).labels.tolist() == [958]
