"""Any command line, an exit code of 0, 1 or 2 and a short message: property-based tests (hypothesis) over
`tpviz grade`, `tpviz figures`, `tpviz download` and `tpviz doctor`, run in-process through ``tpviz.cli.main``.

Each argument list mixes the command's real option names (from its parser; also as ``--opt=value``, ``--``
and ``-h``) with what a hostile user types: text, unicode, numbers, inf/nan/huge, empty strings, ``~`` and
URLs, and paths that exist, do not, are files, folders or submissions, and a file named like an option (the
shell's ``*``). Never a Python traceback; an error is a few lines. No work is done: the figures' stages, the
downloads and the doctor's checks are stubs, and each run happens in a fresh temporary folder. Bounded:
derandomized (the same examples in every run), a few seconds per command on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import tpviz.cli.doctor as doctor
import tpviz.cli.download as download
import tpviz.cli.figures as figures
from tpviz.cli import build_parser, main

from .test_grading import answers, fill, put, template

PROFILE = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
TRACEBACK = "Traceback (most recent call last)"
UNDECODABLE = "caf\udce9"  # a file name that is not UTF-8 (Python's surrogate escape): printed, never fatal
NO_HOME = "~no_such_user_tpviz/x"
MAX_ERROR_LINES = 12  # argparse's usage (a few lines) and one error line


def _options(command: str) -> list[str]:
    """The option strings of ``command``'s real parser."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(o for action in sub.choices[command]._actions for o in action.option_strings)


# What the folder the command runs in holds (made by the ``room`` fixture). No path leaves it ("~" is its
# home): a valid `tpviz grade --out /` would write there.
PATHS = ["alice", "alice/", "bob", "alice/01.ipynb", "notes.txt", "notes.txt/sub", "missing", "missing/deeper",
         "empty", "grading", ".", "/dev/null", "~", NO_HOME, "./*", "*",
         "http://example.com/x.pth", "--out", UNDECODABLE, "a b", "é/ü", "-", "-1"]
NUMBERS = ["0", "-1", "1", "10", "2.5", "1e309", "-1e309", "inf", "-inf", "nan", "NaN", "1e-320", "10" * 20, "0x10",
           "1_000", "٣", "", " ", "\t"]
WORDS = ["auto", "cpu", "cuda", "cuda:7", "mps", "meta", "tpu", "squeezenet1_1", "vgg16", "resnet18", "vgg16,vgg16",
         "squeezenet1_1,vgg16,resnet18", ",", "squeezenet1_1,", "folder", "notebook", "rubric.json", "grading"]
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12).filter(
    lambda v: not v.lstrip().startswith(("/", "~")) and ".." not in v)  # nothing written outside the room
VALUES = st.one_of(st.sampled_from(PATHS + NUMBERS + WORDS), TEXT)


def _argv(command: str, *, values: st.SearchStrategy[str] = VALUES) -> st.SearchStrategy[list[str]]:
    """``[command, ...]``: mostly options with a value, some alone, some stray values, some ``--``."""
    options = [o for o in _options(command) if o not in ("-h", "--help")]  # help: test_no_command_or_help
    flag = st.sampled_from([*options, "--no-such-option"])
    piece = st.one_of(st.tuples(flag, values), st.tuples(flag, values), st.tuples(flag),
                      st.builds(lambda f, v: (f"{f}={v}",), flag, values), st.tuples(values), st.just(("--",)))
    return st.lists(piece, max_size=5).map(lambda pieces: [command, *(word for p in pieces for word in p)])


@pytest.fixture
def room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder to run in: two submissions, a file, an empty folder, a file named like an option; no work."""
    for name in ("alice", "bob"):
        put(tmp_path / name / "01.ipynb", fill(template(1), answers("q1")))
    (tmp_path / "notes.txt").write_text("not a notebook")
    (tmp_path / "empty").mkdir()
    (tmp_path / "--out").write_text("a stray file")
    (tmp_path / "rubric.json").write_text("{not json")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / ".torch"))
    monkeypatch.setattr(figures, "make_all", lambda *args, **kwargs: [])
    monkeypatch.setattr(download, "fetch_item", lambda *args, **kwargs: None)
    monkeypatch.setattr(doctor, "diagnose", lambda **kwargs: [doctor.Finding("ok", "stub", "no checks run", "")])
    return tmp_path


def _run(argv: list[str]) -> tuple[int, str, str]:
    """``tpviz *argv`` in-process: its exit code, stdout and stderr (encoded as Python encodes them)."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as done:  # argparse: a usage error (2) or --help (0)
            code = done.code if isinstance(done.code, int) else 2 if done.code else 0
    return code, out.buffer.getvalue().decode("utf-8"), err.buffer.getvalue().decode("utf-8")


def _check(argv: list[str]) -> None:
    code, out, err = _run(argv)
    assert code in (0, 1, 2), (argv, code, err)
    assert TRACEBACK not in err and TRACEBACK not in out, (argv, err)
    if code == 2:
        lines = err.strip().split("\n")  # a value holding a newline is echoed as typed
        assert 1 <= len(lines) <= MAX_ERROR_LINES and any("error: " in line for line in lines), (argv, err)


@PROFILE
@given(argv=_argv("grade"))
@example(argv=["grade", "alice", "--out", UNDECODABLE])
@example(argv=["grade", "alice", "--out", NO_HOME])
@example(argv=["grade", "alice", "--out", ""])
@example(argv=["grade", "", "alice"])
@example(argv=["grade", "alice", "--out", "bob/grading"])
def test_grade(room: Path, argv: list[str]):
    _check(argv)


@PROFILE
@given(argv=_argv("figures"))
@example(argv=["figures", "--out", UNDECODABLE])
@example(argv=["figures", "--device", "\n"])
def test_figures(room: Path, argv: list[str]):
    _check(argv)


@PROFILE
@given(argv=_argv("download"))
@example(argv=["download", "--to", UNDECODABLE])
def test_download(room: Path, argv: list[str]):
    _check(argv)


@pytest.mark.parametrize("to", [NO_HOME, "", "  ", "https://example.org/x"])
def test_download_to_an_unknown_user_s_home_an_empty_path_or_a_url(room: Path, to: str, capsys):
    before = sorted(map(str, room.rglob("*")))
    _check(["download", "--to", to])
    assert main(["download", "--to", to]) == 2 and "--to" in capsys.readouterr().err
    assert sorted(map(str, room.rglob("*"))) == before, "a refused --to creates nothing"


@PROFILE
@given(argv=_argv("doctor"))
def test_doctor(room: Path, argv: list[str]):
    _check(argv)


@pytest.mark.parametrize("argv", [[], ["nope"], ["-h"], ["grade", "-h"], ["figures", "--help"]])
def test_no_command_or_help(room: Path, argv: list[str]):
    code, _, err = _run(argv)
    assert code in (0, 2) and TRACEBACK not in err


def test_the_stubs_stand_in_for_the_work(room: Path):
    """What the tests above rely on: no stage, download or check runs, nothing leaves the temporary folder."""
    assert _run(["figures", "--out", "f"])[0] == 0 and not (room / "f").exists()  # nothing made: no folder
    code, out, _ = _run(["download", "--to", "w"])
    assert code == 0 and "Done:" in out and not (room / "w").exists()
    assert _run(["doctor"])[0] == 0 and os.listdir(room / "alice") == ["01.ipynb"]
