"""Where ``tpviz grade`` may write: never among the submissions, and never into a student's folder that the
shell's ``*`` handed over as the value of ``--out`` (a file named ``--out`` in the folder graded does that)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import InputError

GLOB_FIX = ("run `tpviz grade -- *` (after `--` every name is a submission) or `tpviz grade ./*` instead, and pass "
            "--out before the `--`")


def check_out(out: Path, paths: Sequence[str], *, record: str) -> None:
    """Refuse an output folder that is, or lies inside, a submitted folder, that is a submitted file, or that
    holds notebooks and was not written by ``tpviz grade`` (whose ``record`` file it would hold).

    Raises:
        InputError: with the fix.
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder; pass a folder, e.g. --out grading")
    target = Path(os.path.realpath(out))
    for raw in paths:
        path = Path(os.path.realpath(raw))
        if target == path or path.is_dir() and path in target.parents:
            raise InputError(f"--out {out} lies inside the submissions ({raw}): tpviz grade never writes among the "
                             "submissions; pass an output folder elsewhere, e.g. --out grading")
    if out.is_dir() and not (out / record).exists() and _holds_notebooks(out):
        raise InputError(f"--out {out} holds notebooks (.ipynb): it looks like a student's submission, and tpviz grade "
                         "never writes among the submissions; pass an output folder elsewhere, e.g. --out grading. "
                         f"If you typed `tpviz grade *` in a folder holding a file named '--out': {GLOB_FIX}")


def check_option_files(paths: Sequence[str], options: Iterable[str]) -> None:
    """Refuse to run when an entry of the current folder is named like one of the command's ``options`` (or an
    abbreviation argparse accepts, or ``--out=...``) and is not among the ``paths``: the shell's ``*`` passed it
    as that option, so the next student would be taken for its value, or dropped.

    Raises:
        InputError: naming the entry and the fix.
    """
    given = {os.path.abspath(p) for p in paths}
    try:
        names = [n for n in os.listdir(".") if n.startswith("--")]
    except OSError:
        return
    for name in sorted(names):
        option = next((o for o in options if _taken_as(name, o)), None)
        if option is not None and os.path.abspath(name) not in given:
            raise InputError(f"this folder holds an entry named {name!r}, which was not graded: the shell's * gave it "
                             f"to tpviz grade as the option {option}, so a student would be dropped or their folder "
                             f"written into. Nothing was written: {GLOB_FIX}")


def _taken_as(name: str, option: str) -> bool:
    """Whether argparse reads the argument ``name`` as ``option`` (itself, an abbreviation, or ``option=value``)."""
    flag = name.split("=", 1)[0]
    return len(flag) > 2 and option.startswith(flag)


def _holds_notebooks(folder: Path) -> bool:
    for _, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(f.endswith(".ipynb") for f in files):
            return True
    return False
