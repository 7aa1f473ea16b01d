"""``tpviz figures --out`` with the paths students and instructors type: spaces, non-ASCII letters, quotes,
``~``, ``..``, missing parents, a trailing slash; and the ones to refuse (a file, a read-only folder, empty).

The stages are replaced by one tiny stage (the real ones are run by test_figures.py): what is tested here is
where the files go, what the gallery's reproducing command says, and what is left behind on a refusal.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import numpy as np
import pytest

from tpviz.cli import main
from tpviz.cli.figures import MARKER

from .conftest import TinyConv


@pytest.fixture
def tiny_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """One stage that makes one figure; the models and images are tiny; cwd and HOME are in tmp_path."""
    import matplotlib.pyplot as plt

    from tpviz.cli.stages import Artifact
    from tpviz.imagenet.data import ImageNetVal

    def one(run, update):
        update(1, 1)
        return [Artifact("figure01_x", "1", "First", "made", {"lr": 5}, run.models, figure=plt.figure(figsize=(2, 2)))]

    monkeypatch.setattr("tpviz.cli.stages.stages", lambda models: [("one", one)])
    monkeypatch.setattr("tpviz.imagenet.models.load_model", lambda name, device: TinyConv())
    val = ImageNetVal(np.zeros((2, 8, 8, 3), np.uint8), np.zeros(2, np.int64), ["a", "b"])
    monkeypatch.setattr("tpviz.imagenet.data.load_imagenet_val", lambda: val)
    home, work = tmp_path / "home", tmp_path / "work" / "here"
    home.mkdir()
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return tmp_path


AWKWARD = {
    "spaces and non-ASCII": ("mes figures – été", "work/here/mes figures – été"),
    "quotes and a dollar": ("it's \"$HOME\" figs", "work/here/it's \"$HOME\" figs"),
    "home": ("~/figs", "home/figs"),
    "parent": ("../figs", "work/figs"),
    "missing parents": ("a/b/c", "work/here/a/b/c"),
    "trailing slash": ("figs/", "work/here/figs"),
    "absolute": (None, "abs figs"),
}


@pytest.mark.parametrize("name", AWKWARD)
def test_figures_go_where_out_says_and_the_gallery_s_command_reproduces_it(tiny_run: Path, name: str, capsys):
    typed, where = AWKWARD[name]
    typed = str(tiny_run / where) if typed is None else typed
    assert main(["figures", "--fast", "--models", "squeezenet1_1", "--out", typed]) == 0, capsys.readouterr().err
    out = tiny_run / where
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "figure01_x.png", "index.html", "manifest.json"])
    command = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["summary"]["command"]
    words = shlex.split(command)
    assert words[words.index("--out") + 1] == typed, "the command in the gallery must give back the same --out"
    said = capsys.readouterr().out
    assert f"to {out.resolve()}{os.sep};" in said and (out.resolve() / "index.html").as_uri() in said, said


def test_a_file_an_empty_path_and_a_url_are_refused_and_nothing_is_written(tiny_run: Path, capsys):
    (Path.cwd() / "report.pdf").write_bytes(b"%PDF")
    before = sorted(p.name for p in Path.cwd().iterdir())
    for typed, says in (("report.pdf", "is a file"), ("", "is not a path"), ("   ", "is not a path"),
                        ("https://example.org/figs", "is a URL")):
        assert main(["figures", "--fast", "--out", typed]) == 2
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err, err
    assert sorted(p.name for p in Path.cwd().iterdir()) == before
    assert (Path.cwd() / "report.pdf").read_bytes() == b"%PDF"


@pytest.mark.skipif(os.name == "nt" or (hasattr(os, "geteuid") and os.geteuid() == 0),
                    reason="root (and Windows) can write into a read-only folder")
def test_a_read_only_parent_is_a_clear_error(tiny_run: Path, capsys):
    locked = Path.cwd() / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["figures", "--fast", "--out", "locked/figs"]) == 2
        err = capsys.readouterr().err
        assert "locked" in err and "Traceback" not in err, err
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_a_folder_that_cannot_be_created_leaves_nothing_behind(tiny_run: Path, capsys):
    """A parent that is a file (behind a folder the run would make): the error names it, and nothing is left."""
    (Path.cwd() / "notes").write_text("mine")
    before = sorted(map(str, Path.cwd().rglob("*")))
    assert main(["figures", "--fast", "--out", "new/../notes/figs"]) == 2
    err = capsys.readouterr().err
    assert "notes" in err and "Traceback" not in err, err
    assert (Path.cwd() / "notes").read_text() == "mine"
    assert sorted(map(str, Path.cwd().rglob("*"))) == before, "no folder made on the way is left behind"
