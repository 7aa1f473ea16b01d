"""Find submitted notebooks and read the students' answers from them, as JSON only.

Nothing here executes a notebook or writes to one: a submission is opened once, read in binary up to a
size cap, parsed with :func:`json.loads` and never touched again. Whatever a file holds (broken or
truncated JSON, another nbformat, bytes that are not UTF-8, a hostile structure), reading it gives a
:class:`NotebookFile` whose ``error`` says why it could not be used, never an exception.

Answers are found, for each question ``qN``, in this order (``Answer.found`` records which):

1. ``"grade_id"``: the cell whose nbgrader ``grade_id`` is ``qN`` (what nbgrader itself reads);
2. ``"after prompt"``: the answer cell lost its metadata, but the locked prompt cell ``qN_prompt`` is
   there: the markdown cells that follow the prompt;
3. ``"after heading"``: all nbgrader metadata is gone: the markdown cells that follow the cell starting
   with "Question N";
4. ``""``: not found.

Under 1, markdown cells without metadata right after the answer cell (a student who added a cell below
instead of replacing "YOUR ANSWER HERE") are read too, and ``Answer.extra_cells`` counts them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._errors import InputError

QUESTIONS: tuple[str, ...] = tuple(f"q{n}" for n in range(1, 12))
# The questions of each notebook of the kit: 01 saliency, 02 adversarial examples, 03 class visualization.
SECTIONS: dict[int, tuple[str, ...]] = {1: QUESTIONS[0:4], 2: QUESTIONS[4:7], 3: QUESTIONS[7:11]}
SECTION_OF: dict[str, int] = {q: s for s, qs in SECTIONS.items() for q in qs}
TEMPLATE = "YOUR ANSWER HERE"
MAX_MB = 50.0
MIN_WORDS = 10
MAX_ANSWER_CHARS = 20_000  # longer answers are cut (spreadsheets hold at most 32,767 characters a cell)

_HEADING = re.compile(r"^[\s*_#>]*question\s+(\d+)\b", re.IGNORECASE)
_MARKDOWN_TITLE = re.compile(r"^\s{0,3}#{1,6}\s")
_FIGURE_CALL = re.compile(r"\bplt\.show\(|\bplot_\w+\(")
_COMMENT = re.compile(r"#.*")
_IMAGE_KEYS = ("image/png", "image/jpeg", "image/svg+xml", "png", "jpeg", "svg")  # v4 and v3 output keys


@dataclass(frozen=True)
class Answer:
    """One answer. ``text`` is "" when none was found; ``found`` says how it was found ("" = not found)."""

    text: str = ""
    found: str = ""
    extra_cells: int = 0
    cells: int = 0  # how many cells carried this question's grade_id (more than 1: they were joined)
    chars: int = 0  # the answer's full length, before any cut to MAX_ANSWER_CHARS

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class NotebookFile:
    """What reading one file gave: its answers, or the reason it could not be read."""

    path: Path
    size: int = 0
    sha256: str = ""
    error: str = ""
    notes: tuple[str, ...] = ()
    answers: dict[str, Answer] = field(default_factory=dict)
    executed: bool = False
    figure_cells: int = 0
    figures_missing: int = 0

    @property
    def sections(self) -> frozenset[int]:
        return frozenset(SECTION_OF[q] for q in self.answers)


@dataclass(frozen=True)
class Submission:
    """One row of the report: one student's notebooks (a folder) or one notebook."""

    name: str
    files: tuple[NotebookFile, ...]
    expected: tuple[str, ...]  # the questions this submission should answer
    answers: dict[str, Answer]
    duplicates: tuple[str, ...] = ()  # "same file as X", "same answers as X", "q2 q5 identical to X"


# ---------------------------------------------------------------------------------------------- finding files


def find_notebooks(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Every notebook under ``paths``: files as given, folders searched recursively for ``*.ipynb``.

    Hidden files and folders (``.ipynb_checkpoints``, ``.git``...) are left out of folder searches, and
    symbolic links to folders are not followed. Each file appears once, in sorted order.

    Raises:
        InputError: a path that does not exist.
    """
    found: dict[Path, Path] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{raw}: no such file or folder. Pass submitted notebooks (.ipynb) or folders of them.")
        if not path.is_dir():
            found.setdefault(path.resolve(), path)
            continue
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.endswith(".ipynb") and not name.startswith("."):
                    file = Path(folder) / name
                    found.setdefault(file.resolve(), file)
    return sorted(found.values(), key=lambda p: str(p))


# ---------------------------------------------------------------------------------------------- reading one file


def read_notebook(path: Path, *, max_bytes: int = int(MAX_MB * 1e6)) -> NotebookFile:
    """Read one submitted notebook as JSON (never executed, never written). Never raises."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            return NotebookFile(path, size, error="not a regular file")
        if size > max_bytes:
            return NotebookFile(path, size, error=f"{size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit "
                                                  "(--max-mb): not read")
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as err:
        return NotebookFile(path, error=f"cannot be read ({err.strerror or type(err).__name__})")
    if len(data) > max_bytes:
        return NotebookFile(path, len(data), error=f"over the {max_bytes / 1e6:g} MB limit (--max-mb): not read")
    digest = hashlib.sha256(data).hexdigest()
    base = NotebookFile(path, len(data), digest)
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
        return replace(base, error=f"not valid JSON: {str(err).splitlines()[0][:200]}", notes=notes)
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
    return replace(base, notes=notes + answer_notes, answers=answers, executed=executed,
                   figure_cells=figure_cells, figures_missing=missing)


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


def _text(value: Any) -> str:
    """A cell's source or an output's text: a string, or a list of strings (anything else counts as "")."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return ""


def _source(cell: dict[str, Any]) -> str:
    return _text(cell.get("source", cell.get("input")))  # v3 code cells keep their source in "input"


def _grade_id(cell: dict[str, Any]) -> str:
    meta = cell.get("metadata")
    nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
    grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return grade_id if isinstance(grade_id, str) else ""


def _has_nbgrader(cell: dict[str, Any]) -> bool:
    meta = cell.get("metadata")
    return isinstance(meta, dict) and "nbgrader" in meta


def _heading_number(cell: dict[str, Any]) -> int | None:
    """N when the cell is prose that starts with "Question N" (a prompt), else None."""
    if cell.get("cell_type") == "code":
        return None
    match = _HEADING.match(_source(cell))
    return int(match.group(1)) if match else None


def _following(cells: list[dict[str, Any]], start: int, question: int) -> list[str]:
    """The prose cells right after ``cells[start]`` that belong to its answer.

    Collection stops at a code cell, a cell with nbgrader metadata, a markdown title (``#``), or another
    question's prompt.
    """
    texts = []
    for cell in cells[start + 1:]:
        kind = cell.get("cell_type")
        number = _heading_number(cell)
        text = _source(cell)
        if (kind not in ("markdown", "raw") or _has_nbgrader(cell) or _MARKDOWN_TITLE.match(text)
                or number is not None and number != question):
            break
        texts.append(text)
    return texts


def _join(texts: Iterable[str]) -> str:
    return "\n\n".join(t.strip() for t in texts if t.strip())


def is_template(text: str) -> bool:
    """Whether an answer is still the template's "YOUR ANSWER HERE"."""
    return text.strip().casefold() == TEMPLATE.casefold()


def find_answers(cells: list[dict[str, Any]]) -> tuple[dict[str, Answer], tuple[str, ...]]:
    """Each question's answer among ``cells`` (see the module docstring), and notes on what was unusual."""
    by_id: dict[str, list[int]] = {}
    headings: dict[int, int] = {}
    for i, cell in enumerate(cells):
        grade_id = _grade_id(cell)
        if grade_id:
            by_id.setdefault(grade_id, []).append(i)
        number = _heading_number(cell)
        if number is not None and not grade_id:
            headings.setdefault(number, i)
    answers: dict[str, Answer] = {}
    notes: list[str] = []
    for q in QUESTIONS:
        n = int(q[1:])
        if q in by_id:
            indices = by_id[q]
            own = _join(_source(cells[i]) for i in indices if not is_template(_source(cells[i])))
            extra = _following(cells, indices[-1], n)
            text = _join([own, *extra]) if own or any(t.strip() for t in extra) else _source(cells[indices[0]])
            answers[q] = Answer(text, "grade_id", extra_cells=sum(1 for t in extra if t.strip()), cells=len(indices))
            if len(indices) > 1:
                notes.append(f"{q}: {len(indices)} cells carry grade_id {q}, joined")
        elif f"{q}_prompt" in by_id:
            answers[q] = Answer(_join(_following(cells, by_id[f"{q}_prompt"][0], n)), "after prompt")
        elif n in headings:
            answers[q] = Answer(_join(_following(cells, headings[n], n)), "after heading")
    for q, answer in answers.items():
        text = answer.text.replace("\x00", "")
        answers[q] = replace(answer, text=text[:MAX_ANSWER_CHARS], chars=len(text))
        if len(text) > MAX_ANSWER_CHARS:
            notes.append(f"{q}: answer cut to {MAX_ANSWER_CHARS:,} of {len(text):,} characters")
    return answers, tuple(notes)


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
        if _FIGURE_CALL.search(_COMMENT.sub("", _source(cell))):
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


# ---------------------------------------------------------------------------------------------- submissions


def collect(paths: Sequence[str | os.PathLike[str]], *, rows: str = "auto", max_mb: float = MAX_MB,
            min_words: int = MIN_WORDS) -> list[Submission]:
    """Read every notebook under ``paths`` and group them into submissions, duplicates marked.

    ``rows``: "folder" makes the notebooks of one folder one submission (one student's 01, 02, 03);
    "notebook" makes each notebook its own; "auto" groups a folder's notebooks when no question appears
    in two of them, and otherwise gives one row per notebook (a folder of everyone's notebook 01).

    Raises:
        InputError: a path that does not exist, or an unknown ``rows``.
    """
    if rows not in ("auto", "folder", "notebook"):
        raise InputError(f"rows={rows!r}: use 'auto', 'folder' or 'notebook'")
    files = [read_notebook(p, max_bytes=int(max_mb * 1e6)) for p in find_notebooks(paths)]
    groups: dict[Path, list[NotebookFile]] = {}
    for nb in files:
        groups.setdefault(nb.path.resolve().parent, []).append(nb)
    sections_seen = sorted({s for nb in files for s in nb.sections})
    everything = tuple(q for s in sections_seen for q in SECTIONS[s])
    submissions = []
    for members in groups.values():
        if rows == "folder" or rows == "auto" and _disjoint(members):
            submissions.append(_submission(_display(members[0].path.parent), members, everything))
        else:
            for nb in members:
                expected = tuple(q for s in sorted(nb.sections) for q in SECTIONS[s])
                submissions.append(_submission(_display(nb.path), [nb], expected))
    return mark_duplicates(submissions, min_words=min_words)


def _disjoint(members: list[NotebookFile]) -> bool:
    seen: set[str] = set()
    for nb in members:
        if seen & set(nb.answers):
            return False
        seen |= set(nb.answers)
    return True


def _display(path: Path) -> str:
    """A path as the instructor typed it (relative to the current folder when it lies under it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _submission(name: str, members: list[NotebookFile], expected: tuple[str, ...]) -> Submission:
    answers: dict[str, Answer] = {}
    for nb in members:
        for q, answer in nb.answers.items():
            answers.setdefault(q, answer)
    return Submission(name, tuple(members), expected, answers)


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def mark_duplicates(submissions: list[Submission], *, min_words: int = MIN_WORDS) -> list[Submission]:
    """Each submission with ``duplicates`` set: other submissions holding the same file or the same answers.

    "same file as X": a notebook byte-for-byte identical to one of X's. "same answers as X": every answer
    both wrote is identical (whitespace and case aside). "q2 q5 identical to X": some answers of at least
    ``min_words`` words are.
    """
    by_hash: dict[str, set[int]] = {}
    by_answer: dict[tuple[str, str], set[int]] = {}
    answered: list[dict[str, str]] = []
    for i, sub in enumerate(submissions):
        for nb in sub.files:
            if nb.sha256:
                by_hash.setdefault(nb.sha256, set()).add(i)
        mine = {q: _normal(a.text) for q, a in sub.answers.items() if a.text.strip() and not is_template(a.text)}
        answered.append(mine)
        for q, text in mine.items():
            by_answer.setdefault((q, text), set()).add(i)
    result = []
    for i, sub in enumerate(submissions):
        notes = []
        same_file = set().union(*(by_hash.get(nb.sha256, set()) for nb in sub.files if nb.sha256)) - {i}
        for j in sorted(same_file):
            notes.append(f"same file as {submissions[j].name}")
        for j in range(len(submissions)):
            if j == i or j in same_file or not answered[i]:
                continue
            if answered[i] == answered[j]:
                notes.append(f"same answers as {submissions[j].name}")
                continue
            shared = [q for q, text in answered[i].items()
                      if j in by_answer[(q, text)] and len(text.split()) >= min_words]
            if shared:
                notes.append(f"{' '.join(shared)} identical to {submissions[j].name}")
        result.append(replace(sub, duplicates=tuple(notes)))
    return result


# ---------------------------------------------------------------------------------------------- flags

FLAG_COLUMNS = ("unreadable", "unanswered", "unchanged", "short", "not_executed", "figures_missing",
                "duplicate", "found_by", "notes")


def status(answer: Answer | None, *, min_words: int = MIN_WORDS) -> str:
    """"unanswered", "unchanged" (the template), "short" (under ``min_words`` words) or "ok"."""
    if answer is None or not answer.text.strip():
        return "unanswered"
    if is_template(answer.text):
        return "unchanged"
    return "short" if answer.words < min_words else "ok"


def flags(sub: Submission, *, min_words: int = MIN_WORDS) -> dict[str, str]:
    """The flag columns of one submission, as short texts ("" = nothing to report)."""
    statuses = {q: status(sub.answers.get(q), min_words=min_words) for q in sub.expected}
    readable = [nb for nb in sub.files if not nb.error]
    found_by = []
    for q in sub.expected:
        answer = sub.answers.get(q)
        if answer is None:
            found_by.append(f"{q} not found")
        elif answer.found != "grade_id":
            found_by.append(f"{q} {answer.found}")
        elif answer.extra_cells:
            found_by.append(f"{q} grade_id + {answer.extra_cells} cell{'s' * (answer.extra_cells > 1)} after")
    return {
        "unreadable": "; ".join(f"{nb.path.name}: {nb.error}" for nb in sub.files if nb.error),
        "unanswered": " ".join(q for q, s in statuses.items() if s == "unanswered"),
        "unchanged": " ".join(q for q, s in statuses.items() if s == "unchanged"),
        "short": " ".join(q for q, s in statuses.items() if s == "short"),
        "not_executed": "; ".join(nb.path.name for nb in readable if not nb.executed),
        "figures_missing": "; ".join(f"{nb.path.name}: {nb.figures_missing} of {nb.figure_cells} figure cells"
                                     for nb in readable if nb.executed and nb.figures_missing),
        "duplicate": "; ".join(sub.duplicates),
        "found_by": "; ".join(found_by),
        "notes": "; ".join(f"{nb.path.name}: {note}" for nb in sub.files for note in nb.notes),
    }


def iter_answers(sub: Submission) -> Iterator[tuple[str, Answer | None]]:
    """(question, answer or None) for every question the submission should answer."""
    for q in sub.expected:
        yield q, sub.answers.get(q)
