"""The three notebooks are valid nbgrader source notebooks: nbgrader's own generate_assignment accepts them, and
its autograde scores the "write it yourself" cells: full points for a function tpviz.check passes, none otherwise."""

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


def nbgrader_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away course folder where ``nbgrader generate_assignment`` has released copies of the notebooks."""
    if not (BIN / "nbgrader").exists():
        pytest.fail(f"nbgrader is not installed in {BIN}: it is in the test extra; run `make test` to install it")
    course = tmp_path_factory.mktemp("course")
    (course / "source" / "tp").mkdir(parents=True)
    for nb in NOTEBOOKS:
        shutil.copy(nb, course / "source" / "tp" / nb.name)
    done = subprocess.run([str(BIN / "nbgrader"), "generate_assignment", "tp", f"--CourseDirectory.root={course}",
                           "--force"], cwd=course, env=nbgrader_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"nbgrader generate_assignment failed:\n{done.stdout}\n{done.stderr}"
    return course


@pytest.fixture(scope="module")
def released(course: Path) -> dict[str, dict]:
    """The released notebooks (what students get), by their number."""
    out = {p.name[:2]: json.loads(p.read_text(encoding="utf-8")) for p in (course / "release" / "tp").glob("*.ipynb")}
    assert sorted(out) == ["01", "02", "03"], f"release/ holds {sorted(out)}"
    return out


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["01", "02", "03"])
def test_answer_cells_come_through_generate_assignment(released: dict[str, dict], prefix: str):
    cells = released[prefix]["cells"]
    meta = [c["metadata"].get("nbgrader", {}) for c in cells]
    answers = [m["grade_id"] for m in meta if m.get("solution") and m.get("grade")]
    prompts = [m["grade_id"] for m in meta if m.get("locked") and not m.get("grade")]
    assert answers == QUESTIONS[prefix]
    assert prompts == [f"{q}_prompt" for q in QUESTIONS[prefix]]
    for cell, m in zip(cells, meta):
        if m.get("solution") and m.get("grade"):
            assert source(cell).strip() == "YOUR ANSWER HERE", f"{m['grade_id']}: the student's template changed"
            assert m.get("points") == 2 and m.get("checksum"), f"{m['grade_id']}: not recorded as a graded cell"
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") or "nbval-check-output" in cell["metadata"].get("tags", [])


@pytest.mark.slow
def test_the_release_keeps_every_cell(released: dict[str, dict]):
    """Every cell as written, but the write-it-yourself cells: their solution stub and hidden test are cleared."""
    for nb in NOTEBOOKS:
        original = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        cells = released[nb.name[:2]]["cells"]
        assert len(cells) == len(original), nb.name
        for mine, theirs in zip(original, cells):
            meta = mine["metadata"].get("nbgrader", {})
            if mine["cell_type"] == "code" and meta.get("solution"):
                assert "### BEGIN SOLUTION" not in source(theirs) and "# YOUR CODE HERE" in source(theirs)
                assert source(theirs).split("# YOUR CODE HERE")[0] == source(mine).split("### BEGIN SOLUTION")[0]
            elif mine["cell_type"] == "code" and meta.get("grade"):
                assert "### BEGIN HIDDEN TESTS" not in source(theirs) and "assert" not in source(theirs)
                assert source(theirs).rstrip() == source(mine).split("### BEGIN HIDDEN TESTS")[0].rstrip()
            else:
                assert source(theirs) == source(mine), nb.name


IMPORT = "import torch\nimport tpviz.check\n\n"
STEP = ("    copy = {x}.detach().clone().requires_grad_(True)\n"
        "    (g,) = torch.autograd.grad({objective}, copy)\n"
        "    return ({x} {sign} lr * g / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)).detach()\n")
TARGET = "model(copy).gather(1, target.view(-1, 1)).sum()"
SOLUTIONS = {  # number -> (a right function, a wrong one: tpviz.check must fail it)
    "01": tuple(IMPORT + "def my_saliency(model, x, y):\n    copy = x.detach().clone().requires_grad_(True)\n"
                "    (g,) = torch.autograd.grad(model(copy).gather(1, y.view(-1, 1)).sum(), copy)\n"
                f"    return g.abs().{reduce}(dim=1)\n" for reduce in ("amax", "sum")),
    "02": tuple(IMPORT + "def my_fooling_step(model, x, target, lr):\n" + STEP.format(x="x", objective=TARGET, sign=sign)
                for sign in "+-"),
    "03": tuple(IMPORT + "def my_class_visualization_step(model, img, target, lr, l2_reg):\n" +
                STEP.format(x="img", objective=TARGET + f" {sign} l2_reg * (copy ** 2).sum()", sign="+")
                for sign in "-+"),
}


def submit(course: Path, released: dict[str, dict], student: str, right: bool) -> None:
    """A submission where the student wrote the function (right or wrong) and ran only the graded cells: the
    other code cells are emptied, so that autograde runs in seconds and needs no weights."""
    folder = course / "submitted" / student / "tp"
    folder.mkdir(parents=True)
    for prefix, nb in released.items():
        nb = json.loads(json.dumps(nb))
        for cell in nb["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if cell["cell_type"] == "code" and meta.get("solution"):
                cell["source"] = SOLUTIONS[prefix][0 if right else 1]
            elif cell["cell_type"] == "code" and not meta.get("grade"):
                cell["source"] = ""
        name = next(p.name for p in NOTEBOOKS if p.name.startswith(prefix))
        (folder / name).write_text(json.dumps(nb, indent=1), encoding="utf-8")


@pytest.mark.slow
def test_autograde_gives_the_point_to_a_right_function_only(course: Path, released: dict[str, dict]):
    submit(course, released, "right", True)
    submit(course, released, "wrong", False)
    done = subprocess.run([str(BIN / "nbgrader"), "autograde", "tp", f"--CourseDirectory.root={course}", "--force"],
                          cwd=course, env=nbgrader_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"nbgrader autograde failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {(student, notebook.name[:2], grade.name): (grade.auto_score, grade.max_score)
                  for student in ("right", "wrong")
                  for notebook in gb.find_submission("tp", student).notebooks
                  for grade in notebook.grades if grade.name.startswith("check_")}
    checks = {"01": "check_saliency", "02": "check_fooling_step", "03": "check_class_visualization_step"}
    assert scores == {**{("right", n, c): (1.0, 1.0) for n, c in checks.items()},
                      **{("wrong", n, c): (0.0, 1.0) for n, c in checks.items()}}
