"""The three notebooks are valid nbgrader source notebooks: nbgrader's own generate_assignment accepts them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .test_notebook_format import NB01_QUESTIONS, NB02_QUESTIONS, NB03_QUESTIONS, NOTEBOOKS, source

QUESTIONS = {"01": NB01_QUESTIONS, "02": NB02_QUESTIONS, "03": NB03_QUESTIONS}
BIN = Path(sys.executable).parent  # nbgrader runs `alembic` from the same environment


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """``nbgrader generate_assignment`` run on copies of the notebooks in a throw-away course folder."""
    if not (BIN / "nbgrader").exists():
        pytest.fail(f"nbgrader is not installed in {BIN}: it is in the test extra; run `make test` to install it")
    course = tmp_path_factory.mktemp("course")
    (course / "source" / "tp").mkdir(parents=True)
    for nb in NOTEBOOKS:
        shutil.copy(nb, course / "source" / "tp" / nb.name)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([str(BIN / "nbgrader"), "generate_assignment", "tp", f"--CourseDirectory.root={course}",
                           "--force"], cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"nbgrader generate_assignment failed:\n{done.stdout}\n{done.stderr}"
    out = {p.name[:2]: json.loads(p.read_text(encoding="utf-8")) for p in (course / "release" / "tp").glob("*.ipynb")}
    assert sorted(out) == ["01", "02", "03"], f"release/ holds {sorted(out)}; nbgrader said:\n{done.stderr[-2000:]}"
    return out


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["01", "02", "03"])
def test_answer_cells_come_through_generate_assignment(released: dict[str, dict], prefix: str):
    cells = released[prefix]["cells"]
    meta = [c["metadata"].get("nbgrader", {}) for c in cells]
    answers = [m["grade_id"] for m in meta if m.get("solution") and m.get("grade")]
    prompts = [m["grade_id"] for m in meta if m.get("locked")]
    assert answers == QUESTIONS[prefix]
    assert prompts == [f"{q}_prompt" for q in QUESTIONS[prefix]]
    for cell, m in zip(cells, meta):
        if m.get("solution"):
            assert source(cell).strip() == "YOUR ANSWER HERE", f"{m['grade_id']}: the student's template changed"
            assert m.get("points") == 2 and m.get("checksum"), f"{m['grade_id']}: not recorded as a graded cell"
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") or "nbval-check-output" in cell["metadata"].get("tags", [])


@pytest.mark.slow
def test_the_release_keeps_every_cell(released: dict[str, dict]):
    for nb in NOTEBOOKS:
        original = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        assert [source(c) for c in released[nb.name[:2]]["cells"]] == [source(c) for c in original], nb.name
