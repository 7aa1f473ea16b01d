"""The grading rubric: for each question, its key points (with hint words) and common misconceptions.

The kit's rubric is ``tpviz/grading/rubric.json``; an instructor can pass their own copy (same layout).
Whether an answer "touches" a key point is a keyword hint for the human grader, never a grade.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..files.read import read_bytes

RUBRIC_FILE = "rubric.json"
MAX_BYTES = 10_000_000  # a rubric is a few kB


@dataclass(frozen=True)
class KeyPoint:
    """One thing a good answer says, and word beginnings that suggest an answer says it."""

    point: str
    hints: tuple[str, ...]

    def found_in(self, answer: str) -> tuple[str, ...]:
        """The hint words found in ``answer``, as written there (lower case, each once, in order)."""
        if not self.hints:
            return ()
        found = (m.group(0).lower() for m in _pattern(self.hints).finditer(answer))
        return tuple(dict.fromkeys(" ".join(f.split()) for f in found))


@dataclass(frozen=True)
class Question:
    """One question of the rubric."""

    qid: str
    notebook: str
    title: str
    prompt: str
    key_points: tuple[KeyPoint, ...]
    misconceptions: tuple[str, ...]


@lru_cache(maxsize=256)
def _pattern(hints: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for the hint words: each at a word start, case-insensitive, a space matching spaces or '-'."""
    words = [r"[\s\-]+".join(re.escape(part) for part in hint.split()) for hint in hints]
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + ")", re.IGNORECASE)


def load_rubric(path: str | Path | None = None) -> dict[str, Question]:
    """The rubric by question id ("q1"...): the kit's own, or the JSON file at ``path``.

    Raises:
        InputError: the file is missing, not JSON, or not laid out like the kit's rubric.
    """
    where = str(path) if path is not None else f"tpviz/grading/{RUBRIC_FILE}"
    try:
        if path is None:
            text = resources.files(__package__).joinpath(RUBRIC_FILE).read_text(encoding="utf-8")
        else:
            text = read_bytes(path, "rubric file", max_bytes=MAX_BYTES, error=InputError).decode("utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, InputError) as err:
        raise InputError(f"rubric {where}: cannot be read ({err}). Pass a JSON file laid out like "
                         f"tpviz/grading/{RUBRIC_FILE}.") from None
    except RecursionError:
        raise InputError(f"rubric {where}: its JSON is nested far too deeply to be a rubric. Pass a JSON file "
                         f"laid out like tpviz/grading/{RUBRIC_FILE}.") from None
    except ValueError as err:  # e.g. a number too long for Python's int conversion limit
        raise InputError(f"rubric {where}: not valid JSON ({str(err)[:200]}). Pass a JSON file laid out like "
                         f"tpviz/grading/{RUBRIC_FILE}.") from None
    try:
        return {qid: _question(qid, q) for qid, q in data["questions"].items()}
    except (KeyError, TypeError, AttributeError) as err:
        raise InputError(f"rubric {where}: not laid out like tpviz/grading/{RUBRIC_FILE} ({type(err).__name__}: {err}); "
                         "each question needs notebook, title, prompt, key_points [{point, hints}] and "
                         "misconceptions.") from err


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{what} must be a list of strings")
    return tuple(value)


def _question(qid: str, q: dict[str, Any]) -> Question:
    for key in ("notebook", "title", "prompt"):
        if not isinstance(q[key], str):
            raise TypeError(f"{qid}.{key} must be a string")
    points = tuple(KeyPoint(str(kp["point"]), _strings(kp["hints"], f"{qid} hints")) for kp in q["key_points"])
    return Question(qid, q["notebook"], q["title"], q["prompt"], points,
                    _strings(q["misconceptions"], f"{qid}.misconceptions"))
