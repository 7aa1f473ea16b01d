"""Find submitted notebook files and read each one safely, as JSON only.

Nothing here executes a notebook or writes to one: a submission is opened once, read in binary up to a
size cap, parsed with :func:`json.loads` and never touched again. Whatever a file holds (broken or
truncated JSON, another nbformat, bytes that are not UTF-8, a hostile structure), reading it gives a
:class:`NotebookFile` whose ``error`` says why it could not be used, never an exception.

Reading one gives its answers (found by :mod:`tpviz.grading.answers`), whether it was run, and its figure cells
that lack an image.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InputError, first_line
from .answers import SECTION_OF, Answer, cell_source, find_answers
from .order import execution_order

MAX_MB = 50.0

_FIGURE_CALL = re.compile(r"\bplt\.show\(|\bplot_\w+\(")
_COMMENT = re.compile(r"#.*")
_IMAGE_KEYS = ("image/png", "image/jpeg", "image/svg+xml", "png", "jpeg", "svg")  # v4 and v3 output keys


@dataclass(frozen=True)
class NotebookFile:
    """What reading one file gave: its answers, or the reason it could not be read."""

    path: Path
    sha256: str = ""
    error: str = ""
    notes: tuple[str, ...] = ()
    answers: dict[str, Answer] = field(default_factory=dict)
    executed: bool = False
    figure_cells: int = 0
    figures_missing: int = 0
    ran_early: tuple[int, ...] = ()  # code cells (1, 2, ... down the notebook) that ran before a cell above them
    never_run: tuple[int, ...] = ()  # code cells without an execution count in a notebook that was run

    @property
    def sections(self) -> frozenset[int]:
        return frozenset(SECTION_OF[q] for q in self.answers)


# ---------------------------------------------------------------------------------------------- finding files


def find_notebooks(paths: Sequence[str | os.PathLike[str]]) -> list[tuple[Path, str]]:
    """Every notebook under ``paths``, each with the reason it is not read ("" for those that are): files as
    given, folders searched recursively for ``*.ipynb``.

    Hidden files and folders (``.ipynb_checkpoints``, ``.git``...) are left out of folder searches, and
    symbolic links to folders are not followed. A notebook that is a symbolic link out of its own folder
    (to another student's notebook, or the instructor's), a link loop, a dangling link, a second path to a file
    already found through a link, and a folder that cannot be listed are listed with the reason, never
    followed or dropped in silence. Each file appears once, in sorted order.

    Raises:
        InputError: a path that does not exist.
    """
    real: dict[str, Path] = {}  # real path -> the path graded
    flagged: dict[str, tuple[Path, str]] = {}  # absolute path -> (path, why it is not read)

    def add(path: Path, problem: str = "") -> None:
        problem = problem or _link_problem(path)
        if problem:
            flagged.setdefault(os.path.abspath(path), (path, problem))
            return
        key = os.path.realpath(path)
        first = real.setdefault(key, path)
        if os.path.abspath(first) == os.path.abspath(path):
            return  # the same file named twice (a folder and a file inside it, say)
        link, kept = (path, first) if os.path.abspath(path) != key else (first, path)
        real[key] = kept
        flagged[os.path.abspath(link)] = (link, f"a symbolic link to {kept}, which is graded itself: not graded twice")

    def unlisted(err: OSError) -> None:  # os.walk could not list a folder: say so, carry on with the others
        add(Path(err.filename), _unlistable(err))

    for raw in paths:
        path = Path(raw)
        if not os.path.lexists(path):
            raise InputError(f"{raw}: no such file or folder. Pass submitted notebooks (.ipynb) or folders of them.")
        if not path.is_dir():
            add(path)
            continue
        for folder, dirs, files in os.walk(path, onerror=unlisted):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.endswith(".ipynb") and not name.startswith("."):
                    add(Path(folder) / name)
    return sorted([(p, "") for p in real.values()] + list(flagged.values()), key=lambda entry: str(entry[0]))


def _link_problem(path: Path) -> str:
    """Why the notebook at ``path`` is not followed ("" when it is read): a symbolic link that loops, dangles,
    or leads out of the folder it sits in."""
    if not path.is_symlink():
        return ""
    try:
        path.stat()
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "a symbolic link loop: not read"
        return f"a symbolic link to {os.readlink(path)}, which cannot be read ({err.strerror}): not read"
    target, folder = os.path.realpath(path), os.path.realpath(path.parent)
    if os.path.commonpath([folder, target]) != folder:
        return (f"a symbolic link to {target}, outside its own folder (another student's notebook, or the "
                "instructor's?): not followed. Grade the original, or copy it here if it really is this student's")
    return ""


def _unlistable(err: OSError) -> str:
    return f"a folder that cannot be read ({err.strerror or type(err).__name__}): its notebooks are not graded"


# ---------------------------------------------------------------------------------------------- reading one file


def read_notebook(path: Path, *, max_bytes: int = int(MAX_MB * 1e6)) -> NotebookFile:
    """Read one submitted notebook as JSON (never executed, never written). Never raises."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            return NotebookFile(path, error="not a regular file")
        if size > max_bytes:
            return NotebookFile(path, error=f"{size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit "
                                            "(--max-mb): not read")
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as err:
        return NotebookFile(path, error=f"cannot be read ({err.strerror or type(err).__name__})")
    if len(data) > max_bytes:
        return NotebookFile(path, error=f"over the {max_bytes / 1e6:g} MB limit (--max-mb): not read")
    digest = hashlib.sha256(data).hexdigest()
    base = NotebookFile(path, digest)
    if not data.strip():
        return replace(base, error="empty file")
    text, notes = _decode(data)
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as err:
        ends_early = err.msg.startswith("Unterminated string") or err.pos >= len(text.rstrip())
        why = "ends early (truncated?)" if ends_early else f"line {err.lineno}, column {err.colno}: {err.msg}"
        return replace(base, error=f"not valid JSON: {why}", notes=notes)
    except RecursionError:
        return replace(base, error="not a notebook: JSON nested too deeply", notes=notes)
    except ValueError as err:  # e.g. a number too long for Python's int conversion limit
        return replace(base, error=f"not valid JSON: {first_line(err)[:200]}", notes=notes)
    if not isinstance(nb, dict):
        return replace(base, error="not a notebook: the JSON is not an object", notes=notes)
    cells, format_notes = _cells(nb)
    notes += format_notes
    if cells is None:
        return replace(base, error="not a notebook: no cells", notes=notes)
    answers, answer_notes = find_answers(cells)
    if not answers:
        answer_notes += ("no answer cells or 'Question N' headings found (not one of the kit's notebooks?)",)
    executed, figure_cells, missing = _execution(cells)
    ran_early, never_run = execution_order(cells)
    return replace(base, notes=notes + answer_notes, answers=answers, executed=executed,
                   figure_cells=figure_cells, figures_missing=missing, ran_early=ran_early, never_run=never_run)


def _decode(data: bytes) -> tuple[str, tuple[str, ...]]:
    """The file's text: UTF-8 (as Jupyter writes), UTF-16/32 with a BOM, else UTF-8 with bad bytes replaced."""
    encoding = json.detect_encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), ("not UTF-8: undecodable bytes shown as \ufffd",)
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, (() if encoding in ("utf-8", "utf-8-sig") else (f"encoded as {encoding.upper()}, not UTF-8",))


def _cells(nb: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, tuple[str, ...]]:
    """The notebook's cells as dicts (nbformat 4: ``cells``; nbformat 3: every worksheet's ``cells``)."""
    version = nb.get("nbformat")
    notes: tuple[str, ...] = () if version == 4 else (f"nbformat {version!r}, not 4",)
    raw: Any = nb.get("cells")
    if raw is None and isinstance(nb.get("worksheets"), list):
        raw = [c for ws in nb["worksheets"] if isinstance(ws, dict) and isinstance(ws.get("cells"), list)
               for c in ws["cells"]]
    if not isinstance(raw, list):
        return None, notes
    return [c for c in raw if isinstance(c, dict)], notes


def _execution(cells: list[dict[str, Any]]) -> tuple[bool, int, int]:
    """(executed, figure cells, figure cells without an image output).

    A notebook counts as executed when a code cell other than those tagged ``nbval-check-output`` (which
    the kit ships with stored outputs) has an execution count. Figure cells are code cells that call
    ``plt.show()`` or a ``plot_*`` function outside a comment; each should have an image output once run.
    """
    executed, figures, missing = False, 0, 0
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata")
        tags = meta.get("tags") if isinstance(meta, dict) else None
        checked = isinstance(tags, list) and "nbval-check-output" in tags
        count = cell.get("execution_count", cell.get("prompt_number"))  # v4, v3
        if count is not None and not checked:
            executed = True
        if _FIGURE_CALL.search(_COMMENT.sub("", cell_source(cell))):
            figures += 1
            outputs = cell.get("outputs")
            outputs = outputs if isinstance(outputs, list) else []
            if not any(isinstance(o, dict) and _has_image(o) for o in outputs):
                missing += 1
    return executed, figures, missing


def _has_image(output: dict[str, Any]) -> bool:
    data = output.get("data")
    keys = set(data) if isinstance(data, dict) else set()
    return any(k in keys or k in output for k in _IMAGE_KEYS)
