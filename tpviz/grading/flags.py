"""The report's flag columns for one submission: what is unreadable, unanswered, unchanged, short, not run,
run out of order or in part, missing figures, duplicated, found by a fallback, or otherwise worth a note.
"""

from __future__ import annotations

from .answers import Answer, is_template
from .order import describe
from .submissions import MIN_WORDS, Submission

FLAG_COLUMNS = ("unreadable", "unanswered", "unchanged", "short", "not_executed", "out_of_order", "cells_not_run",
                "figures_missing", "duplicate", "found_by", "notes")
FLAG_LABELS = {"unreadable": "unreadable", "unanswered": "unanswered", "unchanged": "unchanged from the template",
               "short": "very short", "not_executed": "never executed", "out_of_order": "run out of order",
               "cells_not_run": "cells never run", "figures_missing": "figures missing", "duplicate": "duplicate",
               "found_by": "found by fallback", "notes": "notes"}


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
        "out_of_order": "; ".join(f"{nb.path.name}: {describe(nb.ran_early, 'ran before a cell above them')}"
                                  for nb in readable if nb.ran_early),
        "cells_not_run": "; ".join(f"{nb.path.name}: {describe(nb.never_run, 'never run')}"
                                   for nb in readable if nb.never_run),
        "figures_missing": "; ".join(f"{nb.path.name}: {nb.figures_missing} of {nb.figure_cells} figure cells"
                                     for nb in readable if nb.executed and nb.figures_missing),
        "duplicate": "; ".join(sub.duplicates),
        "found_by": "; ".join(found_by),
        "notes": "; ".join(f"{nb.path.name}: {note}" for nb in sub.files for note in nb.notes),
    }
