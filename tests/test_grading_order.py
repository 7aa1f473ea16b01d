"""tpviz grade: notebooks run out of order and code cells never run are flagged; paths with spaces and
non-ASCII letters work for the submissions and --out; without the grade extra the command says what to install."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

import tpviz.grading.command as _grade_cli
from tpviz.errors import InputError
from tpviz.grading.flags import FLAG_COLUMNS, FLAG_LABELS
from tpviz.grading.order import describe, execution_order

from .test_grading import FLAGS, answers, fill, parse, put, read_bytes, row, run_cells, template


def code(count: int | None, source: str = "x = 1", tags: list[str] | None = None) -> dict:
    return {"cell_type": "code", "execution_count": count, "metadata": {"tags": tags or []}, "outputs": [],
            "source": source}


MARKDOWN = {"cell_type": "markdown", "metadata": {}, "source": "text"}


@pytest.mark.parametrize(("counts", "early", "never"), [
    ([1, 2, 3], (), ()),
    ([None, None, None], (), ()),  # never run at all: the not_executed column says so
    ([1, 5, 3, 6], (3,), ()),
    ([4, 2, 3], (2, 3), ()),  # cells 2 and 3 ran before cell 1 (which was run last, or again)
    ([1, 1], (2,), ()),
    ([1, None, 2, None], (), (2, 4)),
    ([7, None, 3], (3,), (2,)),
])
def test_execution_order(counts: list[int | None], early: tuple[int, ...], never: tuple[int, ...]):
    cells = [c for n in counts for c in (MARKDOWN, code(n))]
    assert execution_order(cells) == (early, never)


def test_checked_cells_and_empty_cells_are_not_the_student_s():
    cells = [code(1), code(99, tags=["nbval-check-output"]), code(2), code(None, "  \n"), code(None, tags=["nbval-check-output"])]
    assert execution_order(cells) == ((), ())


def test_nbformat_3_prompt_numbers_and_odd_counts():
    cells = [{"cell_type": "code", "prompt_number": 2, "input": "a"}, {"cell_type": "code", "prompt_number": 1,
                                                                         "input": "b"},
             code(True), code("3")]  # a bool or a string is no count: the cell counts as never run
    assert execution_order(cells) == ((2,), (3, 4))


def test_describe():
    assert describe((), "never run") == ""
    assert describe((4,), "never run") == "code cell 4 never run"
    assert describe(tuple(range(1, 13)), "x") == "code cells 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more x"


def test_the_new_columns_have_labels_and_the_report_s_order():
    assert FLAG_COLUMNS == ("unreadable", "unanswered", "unchanged", "short", "not_executed", "out_of_order",
                            "cells_not_run", "figures_missing", "duplicate", "found_by", "notes") == tuple(FLAGS)
    assert set(FLAG_LABELS) == set(FLAG_COLUMNS)


def test_a_real_notebook_run_out_of_order_and_in_part(tmp_path: Path):
    nb = run_cells(fill(template(1), answers("q1")))
    codes = [c for c in nb["cells"] if c["cell_type"] == "code"]
    codes[2]["execution_count"], codes[3]["execution_count"] = codes[3]["execution_count"], codes[2]["execution_count"]
    codes[4]["execution_count"] = None
    read = read_bytes(tmp_path, json.dumps(nb).encode())
    assert (read.executed, read.ran_early, read.never_run) == (True, (4,), (5,))


SPACED = "cours d'été – groupe 1"  # spaces, an apostrophe, a dash and accents, as on students' laptops


def test_grade_flags_them_in_the_csv_and_the_report_with_spaced_non_ascii_paths(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    nb = run_cells(fill(template(1), answers("q1", "q2")))
    codes = [c for c in nb["cells"] if c["cell_type"] == "code"]
    codes[2]["execution_count"], codes[3]["execution_count"] = 40, 30  # code cell 4 ran before code cell 3
    codes[4]["execution_count"] = None  # code cell 5 never ran
    put(tmp_path / SPACED / "élève ü" / "01_saliency_maps.ipynb", nb)
    out = tmp_path / "notes à rendre" / "grading"
    assert _grade_cli.run(parse(SPACED, "--out", str(out))) == 0
    assert f"wrote {out / 'grades.csv'} and {out / 'report.html'}" in capsys.readouterr().out
    rows = list(csv.reader(io.StringIO((out / "grades.csv").read_text("utf-8-sig"))))
    checked = {n for n, c in enumerate(codes, 1) if "nbval-check-output" in c["metadata"].get("tags", [])}
    early = [n for n in range(4, len(codes) + 1) if n != 5 and n not in checked]  # all ran before code cell 3
    assert early[:3] == [4, 7, 8] and len(early) > 10, "the template changed: adapt this test"
    later = ", ".join(map(str, early[:10])) + f" and {len(early) - 10} more"
    assert rows[1][-len(FLAGS):] == row("x", [], {}, unchanged="q3 q4", out_of_order=f"01_saliency_maps.ipynb: code cells {later} ran "
                                        "before a cell above them",
                                        cells_not_run="01_saliency_maps.ipynb: code cell 5 never run")[-len(FLAGS):]
    assert rows[1][0] == f"{SPACED}/élève ü"
    html = (out / "report.html").read_text("utf-8")
    assert "run out of order:</dt>" in html and "cells never run:</dt>" in html and "élève ü" in html


def test_without_the_grade_extra_the_command_says_what_to_install(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    put(tmp_path / "s" / "a.ipynb", fill(template(1), answers("q1")))
    monkeypatch.setitem(sys.modules, "mistune", None)  # import mistune now raises ModuleNotFoundError
    monkeypatch.delitem(sys.modules, "tpviz.grading.report", raising=False)
    with pytest.raises(InputError, match=r'tpviz grade needs mistune, which is not installed: pip install "tpviz\[grade\]"'):
        _grade_cli.run(parse("s"))
