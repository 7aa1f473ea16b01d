"""What the notebooks and the rubric teach (issue 12): none of the false claims found in review comes back,
architecture numbers are computed rather than typed, and every question names evidence that a cell before it
shows. Reads JSON only: no kernel, no torch."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NB = {1: ROOT / "notebooks" / "01_saliency_maps.ipynb", 2: ROOT / "notebooks" / "02_adversarial_examples.ipynb",
      3: ROOT / "notebooks" / "03_class_visualization.ipynb"}
RUBRIC = ROOT / "tpviz" / "grading" / "rubric.json"

# Each phrase, matched case-insensitively with any run of whitespace as one space, and why it is wrong.
FALSE = {
    "16 weight layers": "SqueezeNet 1.1's longest path has more weight layers than VGG16's: depth is not the difference",
    "much deeper": "VGG16 is not deeper than SqueezeNet 1.1 in weight layers on the longest path",
    "more nonlinear layers": "same: the gradient does not pass through more layers in VGG16",
    "VGG16's top units integrate large regions": "the receptive fields at the top are of similar size",
    "which pixels does the network look at": "a saliency map is a sensitivity, not where the network looks",
    "saturated unit": "a strongly firing ReLU passes its gradient unchanged",
    "already fires strongly": "same",
    "smallest change that": "no method in notebook 02 minimises the change",
    "so that every pixel moves by exactly": "only before clipping to the pixel range",
    "paper's default": "α = 2.5ε/K is not a setting of Madry et al.",
    "ten times slower": "untyped, contradicting speed claims: the architecture table measures compute",
    "~15x": "same",
    "15 times": "same",
    "up to 16 pixels in each direction": "the jitter shifts 0 to 16 pixels right and down",
    "added the regularisers": "jitter comes from DeepDream, not Yosinski et al.",
    "Goodfellow et al., ICLR 2015) takes one step": "Goodfellow et al.'s FGSM is untargeted; targeted is Kurakin et al.",
    "24 of 25": "a number from one run",
    "as in CI": "CI jargon in a student cell",
    "the tests compare this cell": "CI jargon in a student cell",
}
# Architecture numbers must come from tpviz.architecture_facts, never typed into the text.
TYPED = [r"\b138\b", r"1\.2 ?million", r"\b15\.5\b", r"\b0\.35 ?G", r"\b13 ?conv"]
# question -> the cells (ids) holding the evidence its prompt names; they must come before the prompt.
EVIDENCE = {
    "q1": (1, ["fig1"]), "q2": (1, ["fig1", "sanity", "extension"]), "q3": (1, ["occlusion", "mask"]),
    "q4": (1, ["fig2", "architecture", "compare"]), "q5": (2, ["where"]), "q6": (2, ["fig3_numbers", "linearity"]),
    "q7": (2, ["saving", "naive_fails", "table", "adv_training_md"]), "q8": (3, ["fig4", "explorer", "others"]),
    "q9": (3, ["fig5", "fig6", "fig7", "ablation", "seeds", "explorer"]), "q10": (3, ["fig8"]),
    "q11": (3, ["vgg", "fig9", "fig10"]),
}
FIGURE_NAMES = {1: {1, 2}, 2: {3}, 3: {4, 5, 6, 7, 8, 9, 10}}  # `figN = ...` only for the TP's Figure N


def cells(section: int) -> list[dict]:
    return json.loads(NB[section].read_text(encoding="utf-8"))["cells"]


def text_of(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


def documents() -> dict[str, str]:
    docs = {NB[s].name: squash("\n".join(text_of(c) for c in cells(s))) for s in NB}
    docs[RUBRIC.name] = squash(RUBRIC.read_text(encoding="utf-8"))
    return docs


@pytest.mark.parametrize("phrase", sorted(FALSE))
def test_no_false_claim(phrase):
    hits = [name for name, text in documents().items() if squash(phrase) in text]
    assert not hits, f"{hits} say {phrase!r}: {FALSE[phrase]}"


@pytest.mark.parametrize("pattern", TYPED)
def test_no_typed_architecture_numbers(pattern):
    hits = [name for name, text in documents().items() if re.search(pattern, text)]
    assert not hits, f"{hits} type an architecture number ({pattern}): print tpviz.architecture_facts instead"


def test_architecture_table_is_computed_in_notebooks_01_and_03():
    for section in (1, 3):
        assert any("tpviz.architecture_facts(" in text_of(c) for c in cells(section) if c["cell_type"] == "code")


def test_credits_follow_the_literature():
    nb2 = squash("\n".join(text_of(c) for c in cells(2)))
    nb3 = squash("\n".join(text_of(c) for c in cells(3)))
    assert "box-constrained l-bfgs" in nb2 and "kurakin" in nb2 and "untargeted" in nb2
    assert "rule of thumb" in nb2 and "madry" in nb2 and "min" in nb2  # α, and adversarial training's min-max
    assert "deepdream" in nb3 and "0 to 16 pixels" in nb3


@pytest.mark.parametrize("q", sorted(EVIDENCE, key=lambda q: int(q[1:])))
def test_each_prompt_names_evidence_shown_before_it(q):
    section, ids = EVIDENCE[q]
    order = [c.get("id") for c in cells(section)]
    prompt = next(c for c in cells(section) if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == f"{q}_prompt")
    assert re.search(r"Figure|figure|table|printed|plot", text_of(prompt)), f"{q}'s prompt names no figure or number"
    where = order.index(prompt["id"])
    for cid in ids:
        assert cid in order, f"{q}: evidence cell {cid!r} is missing"
        assert order.index(cid) < where, f"{q}: evidence cell {cid!r} comes after the prompt"


@pytest.mark.parametrize("section", sorted(NB))
def test_figure_variables_match_the_tps_figure_numbers(section):
    for cell in cells(section):
        if cell["cell_type"] == "code":
            for n in re.findall(r"^fig(\d+)\w* =", text_of(cell), re.M):
                assert int(n) in FIGURE_NAMES[section], f"{NB[section].name}: fig{n} is not the TP's Figure {n}"


def test_the_explorer_is_shown_once():
    shown = [c["id"] for c in cells(3) if c["cell_type"] == "code" and text_of(c).rstrip().endswith("\nlive")]
    assert shown == ["explorer"], shown


def test_rubric_names_the_misconceptions_the_review_found():
    rubric = json.loads(RUBRIC.read_text(encoding="utf-8"))["questions"]
    wrong = {q: squash(" ".join(spec["misconceptions"])) for q, spec in rubric.items()}
    assert "own maximum" in wrong["q1"] and "colour scale" in wrong["q4"]  # per-panel brightness
    assert "average over positions" in wrong["q8"]  # SqueezeNet's average-pooled head
    assert "seed" in wrong["q9"]  # chaos, not a knob's effect
    assert "strongly active" in wrong["q2"] and "deeper" in wrong["q4"] and "deeper" in wrong["q11"]


TIME_CLAIM = re.compile(r"full mode: (about|under) \d+(\.\d+)? ?(s|min)\b.*\(readme, \"notebook times\"\)\.$")


@pytest.mark.parametrize("section", sorted(NB))
def test_each_long_cell_says_how_long_it_takes_with_its_source(section):
    """A cell with a progress bar (or the explorer) is a long one: the markdown just before it says how long it
    takes in full mode on a 2-core CPU, citing the README's table (measured with benchmarks/notebook_times.py)."""
    notebook = cells(section)
    long = [i for i, c in enumerate(notebook) if c["cell_type"] == "code"
            and ("progress=True" in text_of(c) or "explorer(" in text_of(c))]
    assert long, "each notebook has long cells"
    readme = squash((NB[section].parent.parent / "README.md").read_text(encoding="utf-8"))
    assert "benchmarks/notebook_times.py" in readme and "## notebook times" in readme
    for i in long:
        before = squash(text_of(notebook[i - 1]))
        assert notebook[i - 1]["cell_type"] == "markdown" and TIME_CLAIM.search(before), \
            f"{NB[section].name} cell {i} ({text_of(notebook[i])[:50]!r}): its markdown must say how long it takes"
