"""Group the notebooks read into submissions, the report's rows, and mark the duplicates among them.

A submission is one student's folder of notebooks (01, 02, 03) or one notebook; see :func:`collect`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import InputError
from .answers import SECTIONS, Answer, is_template
from .notebooks import MAX_MB, NotebookFile, find_notebooks, read_notebook

MIN_WORDS = 10


@dataclass(frozen=True)
class Submission:
    """One row of the report: one student's notebooks (a folder) or one notebook."""

    name: str
    files: tuple[NotebookFile, ...]
    expected: tuple[str, ...]  # the questions this submission should answer
    answers: dict[str, Answer]
    duplicates: tuple[str, ...] = ()  # "same file as X", "same answers as X", "q2 q5 identical to X"


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
    files = [NotebookFile(p, error=problem) if problem else read_notebook(p, max_bytes=int(max_mb * 1e6))
             for p, problem in find_notebooks(paths)]
    groups: dict[str, list[NotebookFile]] = {}
    for nb in files:  # by the folder a notebook sits in, as named: a link is never followed to another folder
        groups.setdefault(os.path.abspath(nb.path if nb.error and os.path.isdir(nb.path) else nb.path.parent),
                          []).append(nb)
    sections_seen = sorted({s for nb in files for s in nb.sections})
    everything = tuple(q for s in sections_seen for q in SECTIONS[s])
    submissions = []
    for folder, members in groups.items():
        if rows == "folder" or rows == "auto" and _disjoint(members):
            submissions.append(_submission(_display(Path(folder)), members, everything))
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
    try:  # the folder resolved, not the file: a symbolic link is shown as itself, and a link loop cannot raise
        return str(Path(os.path.realpath(path.parent), path.name).relative_to(os.path.realpath(os.getcwd()))) or "."
    except (ValueError, OSError):
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

