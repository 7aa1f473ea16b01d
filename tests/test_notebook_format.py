"""Fast checks of the committed notebooks' JSON (no kernel): format, parameters cell, stripped outputs,
no machine paths or private tpviz names, and nbgrader's graded cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CHECKED_TAG = "nbval-check-output"
FORBIDDEN = ("/work", "../shared", "tpviz._")
NB01_QUESTIONS = ["q1", "q2", "q3", "q4"]
NB02_QUESTIONS = ["q5", "q6", "q7"]
NB03_QUESTIONS = ["q8", "q9", "q10", "q11"]


def load(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def nbgrader(cell: dict) -> dict | None:
    return cell.get("metadata", {}).get("nbgrader")


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def parameters_cell(nb: dict) -> dict:
    """The code cell tagged ``parameters`` (papermill's convention): the notebook's knobs."""
    found = [c for c in code_cells(nb) if "parameters" in tags(c)]
    assert len(found) == 1, f"expected one code cell tagged 'parameters', found {len(found)}"
    return found[0]


def by_name(name: str) -> Path:
    hits = [p for p in NOTEBOOKS if p.name.startswith(name)]
    assert len(hits) == 1, f"expected one notebook named {name}*.ipynb in {NOTEBOOK_DIR}, found {hits}"
    return hits[0]


nb_params = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"
    assert any(p.name.startswith("01_saliency_maps") for p in NOTEBOOKS)


@nb_params
def test_valid_nbformat4(path):
    nb = load(path)
    assert nb.get("nbformat") == 4, f"{path.name}: nbformat {nb.get('nbformat')!r}, expected 4"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernelspec is not python3"
    import nbformat  # installed with nbval

    nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))


@nb_params
def test_the_colab_cell_then_the_parameters_cell_come_first(path):
    cells = code_cells(load(path))
    assert len(cells) > 2, f"{path.name} has too few code cells"
    assert tags(cells[0]) == ["colab-setup"], f"{path.name}: first code cell is not the Colab setup: {tags(cells[0])}"
    assert "parameters" in tags(cells[1]), f"{path.name}: second code cell is not tagged 'parameters': {tags(cells[1])}"
    assert "fast_mode" in source(cells[1]), f"{path.name}: the parameters cell does not read tpviz.fast_mode()"


def colab_url(cell: dict) -> str:
    import re

    found = re.findall(r'"tpviz @ git\+(https://[^"@]+)"', source(cell))
    assert len(found) == 1, f"the Colab cell installs tpviz from {found}, expected one git URL"
    return found[0]


def test_every_colab_cell_installs_the_kit_from_pyproject_s_repository_url():
    """The repository URL lives in pyproject's [project.urls]; each notebook's Colab cell must carry it."""
    import tomllib

    repository = tomllib.loads((NOTEBOOK_DIR.parent / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    urls = {p.name: colab_url(code_cells(load(p))[0]) for p in NOTEBOOKS}
    assert set(urls.values()) == {repository}, urls


@nb_params
def test_the_colab_cell_does_nothing_off_colab_and_installs_on_colab(path, monkeypatch):
    """Run the cell's code with subprocess.run and google.colab faked: it acts only when google.colab is loaded."""
    import subprocess
    import sys
    import types

    code = source(code_cells(load(path))[0])
    calls: list[object] = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **kw: calls.append(a[0]))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(code, path.name, "exec"), {})
    assert calls == []
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("widgets"))
    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    colab.output = output
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    exec(compile(code, path.name, "exec"), {})
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", f"tpviz @ git+{colab_url(code_cells(load(path))[0])}"],
                     "widgets"]


@nb_params
def test_outputs_stripped_except_checked_cells(path):
    for i, cell in enumerate(code_cells(load(path))):
        if CHECKED_TAG in tags(cell):
            assert cell.get("outputs"), f"{path.name}: code cell {i} is tagged {CHECKED_TAG} but has no stored output"
            continue
        assert cell.get("outputs") == [], f"{path.name}: code cell {i} has stored outputs: strip them"
        assert cell.get("execution_count") is None, f"{path.name}: code cell {i} has an execution count"


@nb_params
def test_no_machine_paths_or_private_names(path):
    for i, cell in enumerate(load(path)["cells"]):
        for n, line in enumerate(source(cell).splitlines(), start=1):
            bad = [s for s in FORBIDDEN if s in line]
            assert not bad, f"{path.name}: cell {i} line {n} contains {bad}: {line!r}"


@nb_params
def test_grade_ids_unique(path):
    ids = [nbgrader(c)["grade_id"] for c in load(path)["cells"] if nbgrader(c) is not None]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"{path.name}: duplicate nbgrader grade_ids {duplicates}"


def test_nb01_graded_answer_cells():
    check_graded_answer_cells("01_saliency_maps", NB01_QUESTIONS)


def test_nb02_graded_answer_cells():
    check_graded_answer_cells("02_adversarial_examples", NB02_QUESTIONS)


def test_nb03_graded_answer_cells():
    check_graded_answer_cells("03_class_visualization", NB03_QUESTIONS)


def check_graded_answer_cells(name: str, questions: list[str]) -> None:
    """The notebook's graded answer cells are exactly ``questions``, in order: editable markdown, each right
    after its locked prompt."""
    path = by_name(name)
    cells = load(path)["cells"]
    answers = [(i, c) for i, c in enumerate(cells) if (nbgrader(c) or {}).get("solution") and nbgrader(c).get("grade")]
    found = [nbgrader(c)["grade_id"] for _, c in answers]
    assert found == questions, f"{path.name}: graded answer cells {found}, expected {questions}"
    for i, cell in answers:
        meta = nbgrader(cell)
        qid = meta["grade_id"]
        assert cell["cell_type"] == "markdown", f"{qid}: answer cell is {cell['cell_type']}, expected markdown"
        assert meta["grade"] is True and meta["solution"] is True, f"{qid}: {meta}"
        assert meta["schema_version"] == 3, f"{qid}: schema_version {meta.get('schema_version')}"
        assert isinstance(meta.get("points"), (int, float)) and meta["points"] > 0, f"{qid}: points {meta.get('points')}"
        assert meta.get("locked") is False, f"{qid}: the answer cell must be editable"
        assert i > 0, f"{qid}: answer cell has no prompt before it"
        prompt = nbgrader(cells[i - 1])
        assert prompt is not None, f"{qid}: the cell before the answer is not an nbgrader prompt"
        assert prompt.get("locked") is True, f"{qid}: prompt cell is not locked: {prompt}"
        assert prompt.get("grade") is False and prompt.get("solution") is False, f"{qid}: prompt cell {prompt}"
        assert source(cells[i - 1]).strip(), f"{qid}: prompt cell is empty"


AUTOGRADED = {"01": ("my_saliency", "saliency"), "02": ("my_fooling_step", "fooling_step"),
              "03": ("my_class_visualization_step", "class_visualization_step")}


@pytest.mark.parametrize("prefix", sorted(AUTOGRADED))
def test_the_write_it_yourself_cell_is_autograded_by_a_hidden_check(prefix):
    """The student's function is an nbgrader solution cell; right after it a locked, hidden test cell worth 1
    point asserts that tpviz.check passes it, only under nbgrader (so Run All never stops there)."""
    fn, check = AUTOGRADED[prefix]
    cells = load(by_name(prefix))["cells"]
    graded = [(i, nbgrader(c)) for i, c in enumerate(cells) if c["cell_type"] == "code" and nbgrader(c)]
    assert [m["grade_id"] for _, m in graded] == [fn, f"check_{check}"]
    (i, solution), (j, test) = graded
    assert j == i + 1 and solution["solution"] and not solution["grade"] and not solution["locked"]
    assert test["grade"] and test["locked"] and not test["solution"] and test["points"] == 1
    body = source(cells[i])
    assert "### BEGIN SOLUTION\n" in body and "### END SOLUTION" in body and f"tpviz.check.{check}({fn})" in body
    hidden = source(cells[j]).split("### BEGIN HIDDEN TESTS\n")[1].split("### END HIDDEN TESTS")[0]
    assert hidden == (f'if os.environ.get("NBGRADER_EXECUTION"):\n    assert tpviz.check.{check}({fn}).passed, '
                      f'"{fn} does not pass tpviz.check.{check}: see its messages"\n')
    assert "Not graded." not in source(cells[i - 1])
