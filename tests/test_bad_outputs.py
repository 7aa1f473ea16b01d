"""Writing output files: the one writer (tpviz.files.write) and save_figure. A folder that cannot be written is
one InputError naming it and the fix; a file is complete or absent, never replaced unless asked, and no
temporary file is ever left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from PIL import Image

import tpviz
from tpviz.files.write import atomic_path, make_folder, missing_top, remove_if_empty, write_file


def leftovers(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.tmp"))


def _fail_with(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    return fail


# ---------------------------------------------------------------------------------------------- the writer


def test_write_file_creates_folders_writes_whole_and_never_replaces_unless_asked(tmp_path: Path):
    target = tmp_path / "a" / "b" / "out.txt"
    digest = write_file(target, b"first", "the report")
    assert target.read_bytes() == b"first" and len(digest) == 64
    with pytest.raises(tpviz.InputError, match=r"out\.txt' exists already; pass overwrite=True"):
        write_file(target, b"second", "the report")
    assert target.read_bytes() == b"first"
    write_file(target, b"second", "the report", overwrite=True)
    assert target.read_bytes() == b"second" and leftovers(tmp_path) == []


@pytest.mark.parametrize("code, match", [
    (errno.EACCES, "permission denied. Choose a folder you can write to"),
    (errno.EROFS, "the file system is read-only"),
    (errno.ENOSPC, "the disk is full"),
], ids=["permission", "read-only", "disk-full"])
def test_a_failed_write_is_one_error_and_leaves_no_temporary_file(tmp_path: Path, code: int, match: str):
    with pytest.raises(tpviz.InputError, match=f"cannot write the report .*out\\.txt': {match}"):
        with atomic_path(tmp_path / "out.txt", "the report") as tmp:
            tmp.write_bytes(b"half")
            _fail_with(code)()
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_refuses_new_files_is_reported_before_anything_is_written(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(os, "open", _fail_with(errno.EROFS))
    with pytest.raises(tpviz.InputError, match="read-only"):
        write_file(tmp_path / "out.txt", b"x", "the report")
    monkeypatch.undo()
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # a read-only folder, as a non-root user sees it
    with pytest.raises(tpviz.InputError, match=r"cannot write the folder of the report .*permission denied"):
        write_file(tmp_path / "out.txt", b"x", "the report")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, ValueError])
def test_an_interrupted_write_leaves_neither_the_file_nor_a_temporary_one(tmp_path: Path, interrupt: type):
    with pytest.raises(interrupt):
        with atomic_path(tmp_path / "out.txt", "the report") as tmp:
            tmp.write_bytes(b"half")
            raise interrupt()
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_appears_while_writing_is_not_replaced(tmp_path: Path):
    target = tmp_path / "out.txt"
    with pytest.raises(tpviz.InputError, match="exists already"):
        with atomic_path(target, "the report") as tmp:
            tmp.write_bytes(b"mine")
            target.write_bytes(b"someone else's")
    assert target.read_bytes() == b"someone else's" and leftovers(tmp_path) == []


def test_blocked_paths(tmp_path: Path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(tpviz.InputError, match=r"a part of that path is a file, not a folder"):
        write_file(tmp_path / "file" / "sub" / "out.txt", b"x", "the report")
    with pytest.raises(tpviz.InputError, match=r"exists and is not a folder"):
        make_folder(tmp_path / "file", "--out")
    with pytest.raises(tpviz.InputError, match=r"is a folder: give a file name"):
        write_file(tmp_path, b"x", "the report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_folders_made_for_a_run_that_wrote_nothing_are_removed(tmp_path: Path):
    target = tmp_path / "a" / "b" / "c"
    top = missing_top(target)
    assert top == tmp_path / "a" and make_folder(target, "--out") == top
    remove_if_empty(top)
    assert not (tmp_path / "a").exists()
    make_folder(target, "--out")
    (target / "figure.png").write_bytes(b"x")
    remove_if_empty(top)
    assert (target / "figure.png").exists(), "a folder holding something stays"


# ---------------------------------------------------------------------------------------------- save_figure


@pytest.fixture
def fig():
    figure = plt.figure(figsize=(2, 1))
    yield figure
    plt.close(figure)


def test_a_name_without_suffix_gets_png_and_the_path_returned_exists(tmp_path: Path, fig):
    path = tpviz.save_figure(fig, tmp_path / "dir" / "report", params={"lr": 5})
    assert path == tmp_path / "dir" / "report.png" and path.is_file()
    assert Image.open(path).format == "PNG" and Image.open(path).info["Description"] == "lr=5"
    with pytest.raises(tpviz.InputError, match=r"report\.png' exists already; pass overwrite=True"):
        tpviz.save_figure(fig, tmp_path / "dir" / "report", params={"lr": 6})
    assert Image.open(path).info["Description"] == "lr=5"


def test_other_formats_and_a_tilde(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fig):
    monkeypatch.setenv("HOME", str(tmp_path))
    path = tpviz.save_figure(fig, "~/figs/f.pdf", params={})
    assert path == tmp_path / "figs" / "f.pdf" and path.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("kw, match", [
    ({"path": "report.v2"}, r"'\.v2' is not an image format matplotlib writes. End the name with \.png"),
    ({"path": "."}, r"is a folder: give a file name"),
    ({"dpi": float("inf")}, r"dpi must be .*not a finite number"),
    ({"dpi": "110"}, r"dpi must be"),
    ({"overwrite": "yes"}, r"overwrite must be True or False"),
    ({"params": ["lr=5"]}, r"params must be a dict"),
    ({"path": None}, r"must be a path"),
], ids=["unknown-suffix", "folder", "dpi-inf", "dpi-str", "overwrite-str", "params-list", "path-none"])
def test_bad_save_figure_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fig, kw: dict, match: str):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(tpviz.InputError, match=match):
        tpviz.save_figure(fig, **{"path": "f.png", "params": {}, **kw})
    assert list(tmp_path.iterdir()) == []


def test_not_a_figure(tmp_path: Path):
    with pytest.raises(tpviz.InputError, match="expects a matplotlib Figure"):
        tpviz.save_figure(None, tmp_path / "f.png", params={})


def test_a_read_only_or_blocked_folder_is_a_clear_error_with_no_temporary_file(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch, fig):
    texts = list(fig.texts)
    (tmp_path / "file").write_text("x")
    with pytest.raises(tpviz.InputError, match=r"the folder of figure file .*file' exists and is not a folder"):
        tpviz.save_figure(fig, tmp_path / "file" / "f.png", params={"lr": 5})
    monkeypatch.setattr(os, "replace", _fail_with(errno.EROFS))
    monkeypatch.setattr(os, "link", _fail_with(errno.EROFS))
    with pytest.raises(tpviz.InputError, match=r"cannot write figure file .*f\.png': the file system is read-only"):
        tpviz.save_figure(fig, tmp_path / "f.png", params={"lr": 5})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"] and fig.texts == texts


def test_a_savefig_that_fails_half_way_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fig):
    def half(path, **kw):
        Path(path).write_bytes(b"\x89PNG half")
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(fig, "savefig", half)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        tpviz.save_figure(fig, tmp_path / "f.png", params={})
    assert list(tmp_path.iterdir()) == [] and fig.texts == []
