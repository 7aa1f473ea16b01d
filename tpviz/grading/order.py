"""In what order a submitted notebook's code cells ran, read from their execution counts (nothing is run).

A notebook run top to bottom has counts that increase down the page. A count lower than one above it means
that cell ran before a cell above it (or was run again, out of order): its outputs may not be what the code
above produces. A code cell without a count, in a notebook that was run, was never run.
"""

from __future__ import annotations

from typing import Any

from .answers import cell_source

CHECKED_TAG = "nbval-check-output"  # cells the kit ships with stored outputs and counts: not the student's


def execution_order(cells: list[dict[str, Any]]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(code cells that ran before a cell above them, code cells never run), numbered 1, 2, ... down the
    notebook's code cells; both empty for a notebook never run. Empty code cells are not counted."""
    counted: list[tuple[int, int]] = []
    never: list[int] = []
    number = 0
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        number += 1
        meta = cell.get("metadata")
        tags = meta.get("tags") if isinstance(meta, dict) else None
        if isinstance(tags, list) and CHECKED_TAG in tags:
            continue
        count = cell.get("execution_count", cell.get("prompt_number"))  # nbformat 4, 3
        if isinstance(count, int) and not isinstance(count, bool):
            counted.append((number, count))
        elif cell_source(cell).strip():
            never.append(number)
    if not counted:
        return (), ()
    early, highest = [], counted[0][1]
    for number, count in counted[1:]:
        if count <= highest:
            early.append(number)
        highest = max(highest, count)
    return tuple(early), tuple(never)


def describe(numbers: tuple[int, ...], what: str) -> str:
    """"code cells 3, 7 {what}" ("" for none); long lists cut after ten."""
    if not numbers:
        return ""
    shown = ", ".join(map(str, numbers[:10])) + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")
    return f"code cell{'s' * (len(numbers) > 1)} {shown} {what}"
