"""Where ``tpviz grade`` may write: never among the submissions (a submitted folder, or any folder holding
notebooks that were not graded: another student's), and never where the shell's ``*`` handed a student's folder
over as the value of ``--out`` (a file named ``--out`` in the folder graded does that)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import InputError

ELSEWHERE = "choose an --out outside the submissions, e.g. --out grading"
GLOB_FIX = ("put `--` before the globbed names, `tpviz grade -- *` (after `--` every name is a submission; give "
            "--out before it), or write `tpviz grade ./*`")
WALK_LIMIT = 10_000  # folders looked into when searching one folder for notebooks: a huge tree is not searched


def check_out(out: Path, paths: Sequence[str], *, record: str) -> None:
    """Refuse an output folder that is, or lies inside, a submitted folder, that is a submitted file, that holds
    notebooks, or that lies inside a folder holding notebooks that were not graded (another student's folder).
    Folders holding ``record`` were written by ``tpviz grade`` and are not submissions.

    Raises:
        InputError: naming the folder, with the fix.
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder; pass a folder, e.g. --out grading")
    target = Path(os.path.realpath(out))
    submitted = [Path(os.path.realpath(raw)) for raw in paths]
    for raw, path in zip(paths, submitted):
        if target == path or path.is_dir() and path in target.parents:
            raise InputError(f"--out {out} lies inside the submissions ({raw}): tpviz grade never writes among the "
                             f"submissions; {ELSEWHERE}")
    if out.is_dir() and not (out / record).exists() and _holds_notebooks(out, graded=set()):
        raise InputError(f"--out {out} holds notebooks (.ipynb): it looks like a student's submission, and tpviz grade "
                         f"never writes among the submissions; {ELSEWHERE}. If you typed `tpviz grade *` in a folder "
                         f"holding a file named '--out': {GLOB_FIX}")
    folder = _student_folder(target, submitted, record=record)
    if folder is not None:
        raise InputError(f"--out {out} lies inside {_shown(folder)}, which holds notebooks (.ipynb) that were not "
                         "passed to tpviz grade: it looks like a student's submission, and tpviz grade never writes "
                         f"among the submissions; {ELSEWHERE}")


def check_option_files(argv: Sequence[str] | None, options: Iterable[str]) -> None:
    """Refuse to run when the arguments look like the shell's ``*`` expanded in a folder holding an entry named
    like one of the command's ``options`` (or an abbreviation argparse accepts, or ``--out=...``): an argument
    before ``--`` is both the name of an entry of the current folder and taken as an option, and every other
    visible entry of the folder is among the arguments. ``argv`` None (called from Python): nothing to check.

    Raises:
        InputError: naming the entry, what argparse made of it, and both fixes.
    """
    if argv is None:
        return
    before = set(argv[:argv.index("--")] if "--" in argv else argv)
    try:
        entries = {n for n in os.listdir(".") if not n.startswith(".")}
    except OSError:
        return
    for name in sorted(n for n in entries & before if n.startswith("--")):
        option = next((o for o in options if _taken_as(name, o)), None)
        if option is not None and entries <= before:
            raise InputError(f"an entry of this folder is named {name!r}, and the arguments look like the shell's * "
                             f"expanded here: tpviz grade read {name!r} as the option {option}, not as a submission, "
                             "so a student would be dropped or their folder written into. Nothing was written. Either "
                             f"rename or remove the entry named {name!r} (e.g. `mv -- {shlex.quote(name)} "
                             f"{shlex.quote(name.lstrip('-') or 'renamed')}`), or {GLOB_FIX}")


def _taken_as(name: str, option: str) -> bool:
    """Whether argparse reads the argument ``name`` as ``option`` (itself, an abbreviation, or ``option=value``)."""
    flag = name.split("=", 1)[0]
    return len(flag) > 2 and option.startswith(flag)


def _student_folder(target: Path, submitted: Sequence[Path], *, record: str) -> Path | None:
    """The first folder above ``target``, below where it joins the submitted paths, that holds notebooks which
    were not submitted (a student's folder that was not graded, or the current folder being one); None if none."""
    joins = []
    for path in submitted:
        try:
            joins.append(Path(os.path.commonpath([target, path])))
        except ValueError:  # another drive
            joins.append(Path(target.anchor))
    join = max(joins, key=lambda p: len(p.parts), default=Path(target.anchor))
    graded = set(submitted)
    for folder in target.parents:
        if len(folder.parts) <= len(join.parts):
            return None
        if folder.is_dir() and not (folder / record).exists() and _holds_notebooks(folder, graded=graded):
            return folder
    return None


def _holds_notebooks(folder: Path, *, graded: set[Path]) -> bool:
    """Whether ``folder`` (searched recursively, hidden folders and the ``graded`` paths skipped) holds a
    notebook that is not one of ``graded``."""
    for seen, (root, dirs, files) in enumerate(os.walk(folder)):
        if seen >= WALK_LIMIT:
            return False
        dirs[:] = [d for d in dirs if not d.startswith(".") and Path(os.path.realpath(Path(root, d))) not in graded]
        if any(f.endswith(".ipynb") and Path(os.path.realpath(Path(root, f))) not in graded for f in files):
            return True
    return False


def _shown(folder: Path) -> str:
    """``folder`` as the user would type it: relative to the current folder when shorter (never ``.``)."""
    try:
        rel = os.path.relpath(folder)
    except ValueError:
        return str(folder)
    return rel if rel != "." and len(rel) < len(str(folder)) else str(folder)
