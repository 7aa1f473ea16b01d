"""Find each question's answer among a notebook's cells: by nbgrader grade_id, else after its prompt or heading.

Answers are found, for each question ``qN``, in this order (``Answer.found`` records which):

1. ``"grade_id"``: the cell whose nbgrader ``grade_id`` is ``qN`` (what nbgrader itself reads);
2. ``"after prompt"``: the answer cell lost its metadata, but the locked prompt cell ``qN_prompt`` is
   there: the markdown cells that follow the prompt;
3. ``"after heading"``: all nbgrader metadata is gone: the markdown cells that follow the cell starting
   with "Question N";
4. ``""``: not found.

Under 1, markdown cells without metadata right after the answer cell (a student who added a cell below
instead of replacing "YOUR ANSWER HERE") are read too, and ``Answer.extra_cells`` counts them.

Cells are the dicts of a parsed notebook (nbformat 4, or 3 with its cells gathered), read as JSON only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

QUESTIONS: tuple[str, ...] = tuple(f"q{n}" for n in range(1, 12))
# The questions of each notebook of the kit: 01 saliency, 02 adversarial examples, 03 class visualization.
SECTIONS: dict[int, tuple[str, ...]] = {1: QUESTIONS[0:4], 2: QUESTIONS[4:7], 3: QUESTIONS[7:11]}
SECTION_OF: dict[str, int] = {q: s for s, qs in SECTIONS.items() for q in qs}
TEMPLATE = "YOUR ANSWER HERE"
MAX_ANSWER_CHARS = 20_000  # longer answers are cut (spreadsheets hold at most 32,767 characters a cell)

_HEADING = re.compile(r"^[\s*_#>]*question\s+(\d+)\b", re.IGNORECASE)
_MARKDOWN_TITLE = re.compile(r"^\s{0,3}#{1,6}\s")


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


def _text(value: Any) -> str:
    """A cell's source or an output's text: a string, or a list of strings (anything else counts as "")."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return ""


def cell_source(cell: dict[str, Any]) -> str:
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
    match = _HEADING.match(cell_source(cell))
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
        text = cell_source(cell)
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
            own = _join(cell_source(cells[i]) for i in indices if not is_template(cell_source(cells[i])))
            extra = _following(cells, indices[-1], n)
            text = _join([own, *extra]) if own or any(t.strip() for t in extra) else cell_source(cells[indices[0]])
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

