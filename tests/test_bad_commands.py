"""The commands given bad files and folders: `tpviz grade` (a shell glob that hands a student to --out, symbolic
links, loops, unreadable folders, bad knobs, unwritable --out), `tpviz figures` (the ownership marker, unwritable
--out) and `tpviz doctor` (it approves only weights that load_model loads). Each is a clear error or a report
line; nothing is written where it must not be."""

from __future__ import annotations

import csv
import errno
import io
import os
from pathlib import Path

import pytest
import torch
import torchvision

import tpviz.cli.doctor as doctor
from tpviz.cli import main
from tpviz.cli.figures import MARKER
from tpviz.grading.submissions import collect

from .test_grading import answers, fill, put, snapshot, template


def _class(root: Path, *names: str) -> Path:
    for name in names:
        put(root / name / "01_saliency_maps.ipynb", fill(template(1), answers("q1", "q2")))
    return root


# ---------------------------------------------------------------------------------------------- tpviz grade


@pytest.mark.parametrize("argv", [
    ["--out", "alice", "bob", "carol"],                      # `tpviz grade *`: --out sorts first, takes alice
    ["--out", "alice", "bob", "carol", "--out", "grading"],  # `tpviz grade * --out grading`: alice dropped
    ["--overwrite", "alice", "bob", "carol"],                # a file named --overwrite turns the option on
    ["--ou", "alice", "bob", "carol"],                       # argparse takes an abbreviation as the option
], ids=["out-first", "out-twice", "overwrite", "abbreviation"])
def test_a_glob_that_hands_an_option_file_to_grade_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str], argv: list[str]):
    monkeypatch.chdir(_class(tmp_path, "alice", "bob", "carol"))
    (tmp_path / argv[0]).write_text("a stray file")
    before = snapshot(tmp_path)
    assert main(["grade", *argv]) == 2
    err = capsys.readouterr().err
    assert f"an entry of this folder is named {argv[0]!r}" in err and "the shell's *" in err
    assert f"rename or remove the entry named {argv[0]!r}" in err and "tpviz grade -- *" in err and "./*" in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("argv", [
    ["submissions/"],                                    # nothing globbed: the stray file is no option
    ["submissions", "--out", "grading"],                 # --out typed, but the folder holds more than the arguments
    ["--", "--out", "submissions"],                      # after --, the file is a submission (reported unreadable)
], ids=["no-glob", "typed-out", "double-dash"])
def test_a_stray_option_named_file_blocks_only_a_glob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      argv: list[str]):
    _class(tmp_path / "submissions", "alice", "bob")
    (tmp_path / "--out").write_text("a stray file")
    (tmp_path / "notes.txt").write_text("not an argument")
    monkeypatch.chdir(tmp_path)
    assert main(["grade", *argv]) == 0
    rows = {row[0] for row in csv.reader(io.StringIO((tmp_path / "grading" / "grades.csv").read_text("utf-8-sig")))}
    assert {"alice", "bob"} <= {name.split("/")[-1] for name in rows}


def test_after_a_double_dash_every_name_is_graded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    work = _class(tmp_path / "class", "alice", "bob")
    (work / "--out").write_text("a stray file")
    monkeypatch.chdir(work)
    assert main(["grade", "--out", "../grading", "--", *sorted(os.listdir("."))]) == 0
    rows = {row[0]: row for row in csv.reader(io.StringIO((tmp_path / "grading" / "grades.csv").read_text("utf-8-sig")))}
    assert {"alice", "bob"} <= set(rows) and "--out: not valid JSON" in ",".join(rows["."])  # reported, not an option


def test_an_out_folder_holding_a_student_s_notebooks_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(_class(tmp_path, "alice", "bob"))
    before = snapshot(tmp_path)
    assert main(["grade", "bob", "--out", "alice"]) == 2
    assert "--out alice holds notebooks (.ipynb): it looks like a student's submission" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("cwd, argv, folder", [
    (".", ["alice", "--out", "bob/grading"], "bob"),                         # inside another student's folder
    (".", ["alice/", "--out", "bob/tp/grading"], "bob"),                     # deeper inside it
    (".", ["alice", "--out", "carol/grading"], "carol"),                     # notebooks one level further down
    ("bob", ["../alice"], "bob"),                                            # run from inside a student's folder
    ("bob/tp", ["../../alice", "--out", "../grading"], ".."),                # --out goes up into bob
    (".", ["alice/01_saliency_maps.ipynb", "--out", "bob/g"], "bob"),        # one file given, not the folder
], ids=["sibling", "deeper", "nested-notebooks", "cwd-is-a-student", "up-into-a-student", "file-given"])
def test_an_out_inside_a_student_s_folder_that_was_not_graded_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cwd: str,
        argv: list[str], folder: str):
    _class(tmp_path, "alice", "bob")
    (tmp_path / "bob" / "tp").mkdir()
    put(tmp_path / "carol" / "tp1" / "01.ipynb", fill(template(1), answers("q1")))
    monkeypatch.chdir(tmp_path / cwd)
    before = snapshot(tmp_path)
    assert main(["grade", *argv]) == 2
    err = capsys.readouterr().err
    shown = str(tmp_path / folder) if cwd == folder else folder  # the current folder is named in full
    assert f"lies inside {shown}, which holds notebooks (.ipynb) that were not passed to tpviz grade" in err, err
    assert "choose an --out outside the submissions, e.g. --out grading" in err and err.count("\n") == 1
    assert snapshot(tmp_path) == before and not (tmp_path / "bob" / "grading").exists()


@pytest.mark.parametrize("argv", [
    ["alice", "bob", "--out", "grading"],            # beside the students: the usual way
    ["class/alice", "--out", "class/alice-grading"],  # beside the one graded, in a folder holding only it
    ["a.ipynb", "b.ipynb", "--out", "grading"],      # a flat folder of notebooks, each one given
    ["alice", "--out", "old/grading"],               # a folder grade wrote earlier, among others
], ids=["beside", "beside-the-only-one", "flat", "grade-s-own"])
def test_an_out_beside_the_submissions_is_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]):
    _class(tmp_path, "alice", "bob")
    _class(tmp_path / "class", "alice")
    for name in ("a", "b"):
        put(tmp_path / f"{name}.ipynb", fill(template(1), answers("q1")))
    (tmp_path / "old" / "grading").mkdir(parents=True)
    (tmp_path / "old" / "grading" / ".tpviz-grade").write_text("{}")
    monkeypatch.chdir(tmp_path)
    assert main(["grade", *argv]) == 0
    assert (tmp_path / argv[-1] / "grades.csv").is_file()


@pytest.mark.parametrize("argv, message", [
    (["", "alice"], "'' is not a path (an empty argument): pass the submitted notebooks"),
    (["alice", " "], "' ' is not a path (an empty argument)"),
    (["alice", "--out", ""], "--out '' is not a path (an empty argument): pass a folder, e.g. --out grading"),
    (["alice", "--out", "~no_such_user_tpviz/g"], "--out '~no_such_user_tpviz/g': Could not determine home directory"),
], ids=["empty-path", "blank-path", "empty-out", "unknown-home"])
def test_an_empty_path_or_an_unknown_home_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str], argv: list[str], message: str):
    monkeypatch.chdir(_class(tmp_path, "alice"))
    before = snapshot(tmp_path)
    assert main(["grade", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert snapshot(tmp_path) == before


def test_links_out_of_a_folder_loops_and_dangling_links_are_flagged_and_everyone_else_graded(tmp_path: Path):
    subs = _class(tmp_path / "subs", "alice")
    put(tmp_path / "instructor" / "key.ipynb", fill(template(1), answers("q1")))
    for name, target in [("bob", "../alice/01_saliency_maps.ipynb"), ("carol", "../../instructor/key.ipynb"),
                         ("dave", "01.ipynb"), ("erin", "nowhere.ipynb")]:
        (subs / name).mkdir()
        (subs / name / "01.ipynb").symlink_to(target)
    errors = {sub.name.split("/")[-1]: [nb.error for nb in sub.files] for sub in collect([subs])}
    assert errors["alice"] == [""]
    assert "outside its own folder (another student's notebook, or the instructor's?)" in errors["bob"][0]
    assert "instructor/key.ipynb, outside its own folder" in errors["carol"][0]
    assert errors["dave"] == ["a symbolic link loop: not read"]
    assert errors["erin"][0].startswith("a symbolic link to nowhere.ipynb, which cannot be read")


def test_a_link_loop_anywhere_is_one_unreadable_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(_class(tmp_path, "alice", "bob"))
    (tmp_path / "bob" / "02.ipynb").symlink_to("02.ipynb")
    (tmp_path / "zoe.ipynb").symlink_to("zoe.ipynb")
    assert main(["grade", "alice", "bob", "zoe.ipynb", "--out", "g"]) == 0
    assert capsys.readouterr().out.startswith("3 submissions from 4 notebooks; 2 unreadable")  # alice, bob, zoe
    text = (tmp_path / "g" / "grades.csv").read_text("utf-8-sig")
    assert text.count("a symbolic link loop: not read") == 2 and "\nalice," in text


@pytest.mark.parametrize("link, real", [("bob", "alice"), ("aaron", "zed")], ids=["link-sorts-last", "link-sorts-first"])
def test_a_student_folder_linked_to_another_is_flagged_not_merged(tmp_path: Path, link: str, real: str):
    _class(tmp_path, real)
    (tmp_path / link).symlink_to(real)
    subs = {sub.name: sub for sub in collect([tmp_path / link, tmp_path / real])}
    assert subs[str(tmp_path / real)].files[0].error == ""
    assert "which is graded itself: not graded twice" in subs[str(tmp_path / link)].files[0].error


def test_a_folder_that_cannot_be_listed_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _class(tmp_path, "alice", "bob")
    scandir = os.scandir

    def refuse(path="."):
        if str(path).endswith("bob"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    errors = {sub.name.split("/")[-1]: sub.files[0].error for sub in collect([tmp_path])}
    assert errors["alice"] == "" and errors["bob"].startswith("a folder that cannot be read (Permission denied)")


@pytest.mark.parametrize("value, message", [
    ("inf", "--max-mb must be a number <= 10000, got inf (not a finite number)"),
    ("1e9", "--max-mb must be a number <= 10000, got 1000000000.0"),
    ("nan", "--max-mb nan: use a count >= 0 and a size > 0"),
    ("-1", "--max-mb -1: use a count >= 0 and a size > 0"),
])
def test_max_mb_must_be_a_finite_positive_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], value: str, message: str):
    monkeypatch.chdir(_class(tmp_path, "alice"))
    assert main(["grade", "alice", f"--max-mb={value}"]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "grading").exists()


def test_a_rubric_nested_100000_deep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(_class(tmp_path, "alice"))
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    assert main(["grade", "alice", "--rubric", "deep.json"]) == 2
    assert "rubric deep.json: its JSON is nested far too deeply" in capsys.readouterr().err


def test_a_read_only_or_blocked_out_is_a_clear_error_with_nothing_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(_class(tmp_path, "alice"))
    (tmp_path / "file").write_text("x")
    assert main(["grade", "alice", "--out", "file/grading"]) == 2
    assert "cannot write --out 'file/grading': a part of that path is a file" in capsys.readouterr().err
    (tmp_path / "locked").mkdir()
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: "locked" not in str(path) and access(path, mode))
    assert main(["grade", "alice", "--out", "locked"]) == 2
    assert "cannot write --out 'locked': permission denied" in capsys.readouterr().err
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(errno.EROFS, "Read-only file system")))
    assert main(["grade", "alice", "--out", "locked"]) == 2
    assert "the file system is read-only" in capsys.readouterr().err
    assert list(tmp_path.rglob("*.tmp")) == [] and list((tmp_path / "locked").iterdir()) == []


# ---------------------------------------------------------------------------------------------- tpviz figures


@pytest.fixture
def one_stage(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """`tpviz figures` with one tiny stage (one figure) and a second that fails when ``fail["second"]``."""
    import matplotlib.pyplot as plt
    import numpy as np

    from tpviz.cli.stages import Artifact
    from tpviz.imagenet.data import ImageNetVal

    from .conftest import TinyConv

    fail = {"first": False, "second": False}

    def first(run, update):
        if fail["first"]:
            raise RuntimeError("the first stage failed")
        return [Artifact("figure01_x", "1", "First", "made", {"lr": 5}, run.models, figure=plt.figure(figsize=(2, 2)))]

    def second(run, update):
        if fail["second"]:
            raise RuntimeError("the second stage failed")
        return []

    monkeypatch.setattr("tpviz.cli.stages.stages", lambda models: [("one", first), ("two", second)])
    monkeypatch.setattr("tpviz.imagenet.models.load_model", lambda name, device: TinyConv())
    images = np.zeros((2, 8, 8, 3), np.uint8)
    monkeypatch.setattr("tpviz.imagenet.data.load_imagenet_val", lambda: ImageNetVal(images, np.zeros(2, np.int64), ["a", "b"]))
    return fail


def _figures(out: Path, *extra: str) -> int:
    return main(["figures", "--out", str(out), "--device", "cpu", "--models", "squeezenet1_1", *extra])


def test_a_run_that_fails_before_saving_leaves_no_folder_and_no_marker(tmp_path: Path, one_stage: dict[str, bool]):
    one_stage["first"] = True
    with pytest.raises(RuntimeError, match="the first stage failed"):
        _figures(tmp_path / "a" / "b" / "figs")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_force_run_into_someone_s_folder_leaves_no_marker(tmp_path: Path, one_stage: dict[str, bool]):
    (tmp_path / "essay.txt").write_text("my work")
    one_stage["first"] = True
    with pytest.raises(RuntimeError):
        _figures(tmp_path, "--force")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["essay.txt"]


def test_the_marker_comes_with_the_first_saved_figure_and_stays_when_a_later_stage_fails(tmp_path: Path,
                                                                                        one_stage: dict[str, bool]):
    one_stage["second"] = True
    with pytest.raises(RuntimeError, match="the second stage failed"):
        _figures(tmp_path / "figs")
    assert {p.name for p in (tmp_path / "figs").iterdir()} >= {MARKER, "figure01_x.png", "index.html"}
    one_stage["second"] = False
    assert _figures(tmp_path / "figs") == 0  # its own folder: replaced without --force


def test_an_existing_empty_folder_gets_the_figures_but_no_marker_without_force(tmp_path: Path, one_stage: dict[str, bool]):
    (tmp_path / "mine").mkdir()
    assert _figures(tmp_path / "mine") == 0
    names = {p.name for p in (tmp_path / "mine").iterdir()}
    assert "figure01_x.png" in names and MARKER not in names


def test_a_read_only_or_blocked_figures_out_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str], one_stage: dict[str, bool]):
    (tmp_path / "file").write_text("x")
    assert _figures(tmp_path / "file" / "figs") == 2
    assert "a part of that path is a file" in capsys.readouterr().err
    (tmp_path / "locked").mkdir()
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: "locked" not in str(path) and access(path, mode))
    assert _figures(tmp_path / "locked") == 2
    assert "permission denied" in capsys.readouterr().err and list((tmp_path / "locked").iterdir()) == []


# ---------------------------------------------------------------------------------------------- tpviz doctor


@pytest.fixture
def weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TPVIZ_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "squeezenet1_1_imagenet.pth"


def _state(name: str) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return torchvision.models.get_model(name, weights=None).state_dict()


@pytest.mark.parametrize("content, match", [
    (b"\x80\x02garbage", "corrupt or not a PyTorch file"),
    ("squeezenet1_0", "do not fit 'squeezenet1_1'"),
    ("nan", "holds NaN or infinite values"),
    ("whole", "holds a whole pickled model"),
], ids=["corrupt", "wrong-architecture", "nan", "whole-model"])
def test_the_doctor_fails_weights_that_load_model_refuses(weights: Path, content, match: str):
    if content == "whole":
        torch.save(torchvision.models.squeezenet1_1(), weights)
    elif content == "nan":
        state = _state("squeezenet1_1")
        state["features.0.weight"][0, 0, 0, 0] = float("nan")
        torch.save(state, weights)
    elif isinstance(content, str):
        torch.save(_state(content), weights)
    else:
        weights.write_bytes(content)
    (finding,) = doctor.check_weights("squeezenet1_1", offline=True)
    assert finding.status == "FAIL" and "load_model('squeezenet1_1') refuses it" in finding.detail
    assert match in finding.detail and f"replace {weights}" in finding.fix


def test_the_doctor_approves_a_dataparallel_checkpoint_that_loads(weights: Path):
    torch.save({f"module.{k}": v for k, v in _state("squeezenet1_1").items()}, weights)
    with pytest.warns(UserWarning, match="DataParallel"):
        (finding,) = doctor.check_weights("squeezenet1_1", offline=True)
    assert finding.status == "ok" and "they load" in finding.detail


def test_the_doctor_reports_a_bad_sample_file_or_data_folder_on_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "imagenet_val_25.npz").mkdir()
    monkeypatch.setenv("TPVIZ_DATA_DIR", str(tmp_path))
    (finding,) = doctor.check_sample_images()
    assert finding.status == "FAIL" and "is a folder, not a file" in finding.detail and "delete" in finding.fix
    (tmp_path / "notes.txt").write_text("x")
    monkeypatch.setenv("TPVIZ_DATA_DIR", str(tmp_path / "notes.txt"))
    (finding,) = doctor.check_sample_images()
    assert finding.status == "FAIL" and "which is not a folder" in finding.detail
