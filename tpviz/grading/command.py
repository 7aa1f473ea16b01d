"""``tpviz grade``: read submitted notebooks (never run, never written) and write grades.csv and report.html.

Imports neither torch nor numpy nor matplotlib: grading reads notebooks as JSON. The grading modules are
imported by ``run`` only, so that building the ``tpviz`` command's parser stays instant.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from ..errors import InputError

# Defaults, repeated here so that building the ``tpviz`` parser imports nothing else (tests check they agree).
MIN_WORDS, MAX_MB = 10, 50.0
MAX_MB_LIMIT = 10_000.0  # --max-mb past this is a typo (a notebook is a few MB)

HELP = "collect the answers of submitted notebooks into grades.csv and report.html (with the rubric beside them)"
CSV_NAME, HTML_NAME = "grades.csv", "report.html"
RECORD = ".tpviz-grade"  # in --out: the sha256 of each file as tpviz grade wrote it
WHAT_TO_PASS = ("pass the submitted notebooks (.ipynb files) or folders that contain them, e.g. "
                "`tpviz grade submitted/` (folders are searched recursively; hidden folders such as "
                ".ipynb_checkpoints are skipped)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="submitted notebooks (.ipynb) or folders of them, searched recursively")
    parser.add_argument("--out", default="grading", metavar="DIR",
                        help=f"folder for {CSV_NAME} and {HTML_NAME} (default: grading); never inside a submission "
                             "folder")
    parser.add_argument("--rows", choices=("auto", "folder", "notebook"), default="auto",
                        help="one row per folder (one student's notebooks 01-03), per notebook, or auto (default: "
                             "a folder is one row unless two of its notebooks carry the same question)")
    parser.add_argument("--min-words", type=int, default=MIN_WORDS, metavar="N",
                        help=f"an answer under N words is flagged 'very short' (default: {MIN_WORDS})")
    parser.add_argument("--max-mb", type=float, default=MAX_MB, metavar="MB",
                        help=f"larger files are flagged unreadable and not parsed (default: {MAX_MB:g})")
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace {CSV_NAME}/{HTML_NAME} in --out even if they were edited since tpviz grade "
                             "wrote them (or were not written by it)")
    parser.add_argument("--rubric", default=None, metavar="FILE",
                        help="your own rubric, a JSON file laid out like tpviz/grading/rubric.json "
                             "(default: the kit's)")


def run(args: argparse.Namespace) -> int:
    """Write the CSV and the HTML report into ``args.out``; 0 when written.

    Raises:
        InputError: nothing to read, a missing path, ``--out`` among the submissions, a bad knob or rubric.
    """
    try:
        from .report import csv_text, html_report, summary
    except ModuleNotFoundError as err:  # mistune comes with the grade extra only
        raise InputError(f"tpviz grade needs {err.name}, which is not installed: pip install \"tpviz[grade]\" "
                         "(or -e \".[grade]\" in the kit's folder)") from None
    from ..files.read import user_path
    from ..files.write import make_folder, write_file
    from ..validate import number
    from .rubric import load_rubric
    from .submissions import collect
    from .where import check_option_files, check_out

    options = ["--" + name.replace("_", "-") for name in vars(args) if name not in ("paths", "command", "run", "argv")]
    check_option_files(getattr(args, "argv", None), options)  # first: a student's name may be what --out holds
    if not args.paths:
        raise InputError(f"no notebooks given: {WHAT_TO_PASS}")
    if args.min_words < 0 or not args.max_mb > 0:
        raise InputError(f"--min-words {args.min_words} / --max-mb {args.max_mb:g}: use a count >= 0 and a size > 0")
    number(args.max_mb, "--max-mb", high=MAX_MB_LIMIT, hint=f"(in MB; the default is {MAX_MB:g})")
    blank = next((p for p in args.paths if not p.strip()), None)
    if blank is not None:
        raise InputError(f"{blank!r} is not a path (an empty argument): {WHAT_TO_PASS}")
    if not args.out.strip():
        raise InputError(f"--out {args.out!r} is not a path (an empty argument): pass a folder, e.g. --out grading")
    out = user_path(args.out, "--out")  # "~" expanded, "~nobody" refused
    check_out(out, args.paths, record=RECORD)
    rubric = load_rubric(args.rubric)
    submissions = collect(args.paths, rows=args.rows, max_mb=args.max_mb, min_words=args.min_words)
    if not submissions:
        raise InputError(f"no notebooks (.ipynb) found in {', '.join(map(str, args.paths))}: {WHAT_TO_PASS}")
    check_unedited(out, overwrite=args.overwrite)
    make_folder(out, "--out")  # each file below is written whole, through a temporary file, or not at all
    csv, html = csv_text(submissions, min_words=args.min_words), html_report(submissions, rubric, min_words=args.min_words)
    record = {CSV_NAME: write_file(out / CSV_NAME, csv.encode("utf-8-sig"), "--out's CSV", overwrite=True),
              HTML_NAME: write_file(out / HTML_NAME, html.encode("utf-8"), "--out's report", overwrite=True)}
    write_file(out / RECORD, (json.dumps(record) + "\n").encode("utf-8"), "--out's record", overwrite=True)
    print(summary(submissions, min_words=args.min_words))
    print(f"wrote {out / CSV_NAME} and {out / HTML_NAME}")
    return 0


def check_unedited(out: Path, *, overwrite: bool) -> None:
    """Refuse to replace a report that tpviz grade did not write, or that was edited since (marks typed into
    the CSV must never be lost), unless ``overwrite``.

    Raises:
        InputError: naming the file and the ways out.
    """
    if overwrite:
        return
    try:
        written = json.loads((out / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        written = {}
    for name in (CSV_NAME, HTML_NAME):
        path = out / name
        if path.is_file() and written.get(name) != _sha256(path):
            raise InputError(f"{path} exists and was edited since tpviz grade wrote it (or was not written by it): "
                             "it is left as it is. Move it away or choose another --out, or pass --overwrite to "
                             "replace it")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
