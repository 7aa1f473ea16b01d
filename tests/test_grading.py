"""tpviz grade: submissions built from the real notebooks (answered, half-answered, broken, hostile), read as
JSON only, reported exactly in CSV and HTML; never executed, never written. No torch needed."""

from __future__ import annotations

import argparse
import copy
import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tpviz.cli as _cli
import tpviz.grading.command as _grade_cli
import tpviz.grading.submissions as _submissions
from tpviz.errors import InputError
from tpviz.grading.answers import QUESTIONS, SECTIONS, TEMPLATE, find_answers
from tpviz.grading.notebooks import read_notebook
from tpviz.grading.report import csv_cell, csv_text, render_markdown, safe_url
from tpviz.grading.rubric import load_rubric
from tpviz.grading.submissions import collect

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = {1: ROOT / "notebooks" / "01_saliency_maps.ipynb", 2: ROOT / "notebooks" / "02_adversarial_examples.ipynb",
             3: ROOT / "notebooks" / "03_class_visualization.ipynb"}
FLAGS = ["unreadable", "unanswered", "unchanged", "short", "not_executed", "out_of_order", "cells_not_run",
         "figures_missing", "duplicate", "found_by", "notes"]
HEADER = ["submission", "files", *QUESTIONS, *FLAGS]

# Good answers (at least 10 words each), written the way a student might.
GOOD = {
    "q1": "The map shows the gradient of the true score: which pixels, changed a little, move it most. "
          "On the quail the bright pixels sit on the bird, on the hay they spread over the background texture.",
    "q2": "The gradient is local and first-order, saturated ReLU units give near zero gradients, and the maps are noisy.",
    "q3": "Compute saliency on many wolf images and measure the fraction on snow; then replace the background "
          "with grass and compare predictions. A few maps are not enough to conclude.",
    "q4": "VGG16 maps look sharper and less blocky; SqueezeNet's stride-2 first convolution and early pooling "
          "give grid artefacts, and VGG16 has 138 million parameters and a deeper stack.",
    "q5": "The naive change is concentrated on the dog where the gradient is large; PGD's sign steps spread it "
          "over every pixel, so its correlation with the saliency map is lower.",
    "q6": "A tiny, invisible change flips the class: in high dimension many small changes add up linearly, so "
          "we cannot trust a confident prediction.",
    "q7": "The naive method climbs the score, not the margin, has no bound and stops just across the boundary, "
          "so 8-bit rounding can undo it. FGSM and PGD keep a budget epsilon; adversarial training retrains "
          "on PGD examples with true labels, at several times the cost.",
    "q8": "Repeated spiral shell motifs and textures appear everywhere, not a whole snail: the network uses "
          "local features and the ascent only maximises the score, so nothing makes it natural.",
    "q9": "The learning rate sets the step length of the normalised step; too large saturates against the clamp. "
          "More iterations let motifs emerge. A large L2 weight fades the image to grey, the mean colour.",
    "q10": "Snail motifs grow on top of the hay, whose layout and colours remain: the result depends on the "
           "start, there are many local maxima, like adversarial examples of section 2.",
    "q11": "VGG16's snails are more structured and recognisable, with larger motifs: deeper layers, larger "
           "receptive fields and 138 million parameters, same settings for both models.",
}


# ---------------------------------------------------------------------------------------------- building submissions


def template(section: int) -> dict[str, Any]:
    return json.loads(NOTEBOOKS[section].read_text(encoding="utf-8"))


def cell_of(nb: dict[str, Any], grade_id: str) -> dict[str, Any]:
    return next(c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def fill(nb: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    nb = copy.deepcopy(nb)
    for q, text in answers.items():
        cell_of(nb, q)["source"] = text.splitlines(keepends=True)
    return nb


def is_figure_cell(cell: dict[str, Any]) -> bool:
    """A code cell that shows a figure (a call outside a comment)."""
    code = re.sub(r"#.*", "", "".join(cell["source"]))
    return cell["cell_type"] == "code" and re.search(r"plt\.show\(|plot_\w+\(", code) is not None


def figure_cells(section: int) -> int:
    return sum(map(is_figure_cell, template(section)["cells"]))


def run_cells(nb: dict[str, Any], *, figures: bool = True) -> dict[str, Any]:
    """What running every cell leaves: execution counts, and an image under each figure cell."""
    nb = copy.deepcopy(nb)
    for count, cell in enumerate((c for c in nb["cells"] if c["cell_type"] == "code"), 1):
        cell["execution_count"] = count
        if figures and is_figure_cell(cell):
            cell["outputs"] = [{"output_type": "display_data", "metadata": {},
                                "data": {"image/png": "iVBORw0KGgo=", "text/plain": ["<Figure size 640x480>"]}}]
    return nb


def strip_nbgrader(nb: dict[str, Any], *only: str) -> dict[str, Any]:
    """The notebook without nbgrader metadata (on the cells ``only``, or on every cell)."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if not only or grade_id in only:
            cell["metadata"].pop("nbgrader", None)
    return nb


def to_v3(nb: dict[str, Any]) -> dict[str, Any]:
    """The notebook in nbformat 3 (worksheets; code cells keep their source in "input")."""
    cells = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cells.append({"cell_type": "code", "input": cell["source"], "language": "python",
                          "prompt_number": cell.get("execution_count"), "metadata": cell["metadata"], "outputs": []})
        else:
            cells.append({"cell_type": cell["cell_type"], "source": cell["source"], "metadata": cell["metadata"]})
    return {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""}, "worksheets": [{"cells": cells,
                                                                                          "metadata": {}}]}


def dump(nb: Any) -> bytes:
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def put(path: Path, data: bytes | dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else dump(data))
    return path


def answers(*qs: str) -> dict[str, str]:
    return {q: GOOD[q] for q in qs}


def snapshot(folder: Path) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


EVE = {
    "q1": "Bright pixels are where a small change would move the class score most; on the mastiff, its head.",
    "q2": "Only valid for small changes, saturated units hide features, noisy, and it says where but not what.",
    "q3": "Mask the snow in many wolf photos and check whether the prediction changes: one map proves nothing.",
    "q4": "SqueezeNet's maps are blockier, from its strided first layer; VGG16 is deeper with 3x3 convolutions.",
}
HOSTILE = {
    "q1": "<script>alert(1)</script>",
    "q2": "See [my notes](javascript:alert(document.cookie)) and ![plot](http://evil.example/track.png) here.",
    "q3": "<img src=x onerror=alert(1)> is how the gradient is shown",
    "q4": '=HYPERLINK("http://evil.example","click me") because of the stride and the pooling layers',
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Builds a class's submissions, grades them once with the CLI, and returns what it wrote."""
    root = tmp_path_factory.mktemp("grading")
    sub = root / "sub"
    t1, t2, t3 = template(1), template(2), template(3)
    # alice: everything answered, run, with figures.
    put(sub / "alice" / "01_saliency_maps.ipynb", run_cells(fill(t1, answers("q1", "q2", "q3", "q4"))))
    put(sub / "alice" / "02_adversarial_examples.ipynb", run_cells(fill(t2, answers("q5", "q6", "q7"))))
    put(sub / "alice" / "03_class_visualization.ipynb", run_cells(fill(t3, answers("q8", "q9", "q10", "q11"))))
    # bob: half-answered 01, never run; 02 with every nbgrader metadata destroyed, run without figures;
    # 03 truncated.
    put(sub / "bob" / "01_saliency_maps.ipynb", fill(t1, {"q1": GOOD["q1"], "q2": "Gradients are local.", "q4": ""}))
    put(sub / "bob" / "02_adversarial_examples.ipynb",
        run_cells(strip_nbgrader(fill(t2, answers("q5", "q6", "q7"))), figures=False))
    whole = dump(run_cells(fill(t3, answers("q8", "q9", "q10", "q11"))))
    put(sub / "bob" / "03_class_visualization.ipynb", whole[: len(whole) // 2])
    # carol: 01 copied byte for byte from alice; 02 in nbformat 3; 03 over the size limit.
    put(sub / "carol" / "01_saliency_maps.ipynb", (sub / "alice" / "01_saliency_maps.ipynb").read_bytes())
    put(sub / "carol" / "02_adversarial_examples.ipynb",
        to_v3(run_cells(fill(t2, {"q5": "PGD moves every pixel by epsilon, the naive method only a few of them.",
                                  "q6": "", "q7": "x"}))))
    huge = fill(t3, answers("q8", "q9", "q10", "q11"))
    huge["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x" * 1_200_000}]
    put(sub / "carol" / "03_class_visualization.ipynb", huge)
    # dave: hostile answers; 02 not UTF-8, q6 written in a new cell below the template, q7's answer cell
    # stripped of its metadata (its prompt kept); 03 not a notebook.
    put(sub / "dave" / "01_saliency_maps.ipynb", run_cells(fill(t1, HOSTILE)))
    nb2 = fill(t2, {"q5": "Le changement naïf est concentré sur le chien, café, là où le gradient est grand.",
                    "q7": "+1 for PGD: it is bounded by epsilon and adversarial training retrains on it."})
    at = nb2["cells"].index(cell_of(nb2, "q6"))
    nb2["cells"].insert(at + 1, {"cell_type": "markdown", "metadata": {}, "source": [GOOD["q6"]]})
    nb2 = run_cells(strip_nbgrader(nb2, "q7"))
    put(sub / "dave" / "02_adversarial_examples.ipynb", dump(nb2).replace("café".encode(), "café".encode("latin-1")))
    put(sub / "dave" / "03_class_visualization.ipynb", {"nbformat": 99, "cells": "no cells here"})
    # erin: the same answers as alice, in files that differ (never run).
    put(sub / "erin" / "01_saliency_maps.ipynb", fill(t1, answers("q1", "q2", "q3", "q4")))
    put(sub / "erin" / "02_adversarial_examples.ipynb", fill(t2, answers("q5", "q6", "q7")))
    put(sub / "erin" / "03_class_visualization.ipynb", fill(t3, answers("q8", "q9", "q10", "q11")))
    # Jupyter's checkpoints are not submissions.
    put(sub / "erin" / ".ipynb_checkpoints" / "01_saliency_maps-checkpoint.ipynb", t1)
    # flat: everyone's notebook 01 in one folder: one row per notebook; frank copied eve's q3.
    put(root / "flat" / "eve.ipynb", run_cells(fill(t1, EVE)))
    put(root / "flat" / "frank.ipynb", run_cells(fill(t1, {"q1": "Sensitivity of the score to each pixel.",
                                                            "q3": EVE["q3"]}), figures=False))
    before = snapshot(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        out = io.StringIO()
        mp.setattr(sys, "stdout", out)
        code = _cli.main(["grade", "sub", "flat", "--out", "grading", "--max-mb", "1"])
    text = (root / "grading" / "grades.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    return {"root": root, "code": code, "stdout": out.getvalue(), "before": before,
            "rows": {r[0]: r for r in rows[1:]}, "header": rows[0], "order": [r[0] for r in rows[1:]],
            "html": (root / "grading" / "report.html").read_text(encoding="utf-8"),
            "raw_csv": (root / "grading" / "grades.csv").read_bytes()}


def row(name: str, files: list[str], answers: dict[str, str], **flags: str) -> list[str]:
    assert set(flags) <= set(FLAGS), flags
    return [name, "; ".join(files), *(answers.get(q, "") for q in QUESTIONS), *(flags.get(f, "") for f in FLAGS)]


def files(name: str, *notebooks: int) -> list[str]:
    names = {1: "01_saliency_maps.ipynb", 2: "02_adversarial_examples.ipynb", 3: "03_class_visualization.ipynb"}
    return [f"sub/{name}/{names[n]}" for n in notebooks]


# ---------------------------------------------------------------------------------------------- the CSV, row by row


def test_the_run_succeeds_and_says_what_it_wrote(graded):
    assert graded["code"] == 0
    assert graded["stdout"] == (
        "7 submissions from 17 notebooks; 3 unreadable; answers: 14 unanswered, 3 unchanged from the template, "
        "6 very short (under 10 words); 7 submissions flagged as duplicates.\n"
        "wrote grading/grades.csv and grading/report.html\n")
    assert graded["header"] == HEADER
    assert graded["order"] == ["flat/eve.ipynb", "flat/frank.ipynb", "sub/alice", "sub/bob", "sub/carol", "sub/dave",
                               "sub/erin"]


def test_csv_has_a_bom_for_spreadsheets_and_crlf_rows(graded):
    assert graded["raw_csv"].startswith(b"\xef\xbb\xbfsubmission,files,q1,")
    assert graded["raw_csv"].endswith(b"\r\n")


def test_fully_answered_submission_has_no_flags_but_its_copies(graded):
    assert graded["rows"]["sub/alice"] == row(
        "sub/alice", files("alice", 1, 2, 3), GOOD,
        duplicate="same file as sub/carol; q1 q5 q6 q7 identical to sub/bob; q6 identical to sub/dave; "
                  "same answers as sub/erin")


def test_half_answered_metadata_destroyed_and_truncated(graded):
    assert graded["rows"]["sub/bob"] == row(
        "sub/bob", files("bob", 1, 2, 3),
        {"q1": GOOD["q1"], "q2": "Gradients are local.", "q3": TEMPLATE, **answers("q5", "q6", "q7")},
        unreadable="03_class_visualization.ipynb: not valid JSON: ends early (truncated?)",
        unanswered="q4 q8 q9 q10 q11", unchanged="q3", short="q2",
        not_executed="01_saliency_maps.ipynb",
        figures_missing=f"02_adversarial_examples.ipynb: {figure_cells(2)} of {figure_cells(2)} figure cells",
        duplicate="q1 q5 q6 q7 identical to sub/alice; q1 identical to sub/carol; q6 identical to sub/dave; "
                  "q1 q5 q6 q7 identical to sub/erin",
        found_by="q5 after heading; q6 after heading; q7 after heading; q8 not found; q9 not found; "
                 "q10 not found; q11 not found")


def test_copied_file_nbformat_3_and_huge_file(graded):
    assert graded["rows"]["sub/carol"] == row(
        "sub/carol", files("carol", 1, 2, 3),
        {**answers("q1", "q2", "q3", "q4"), "q5": "PGD moves every pixel by epsilon, the naive method only a few of them.",
         "q7": "x"},
        unreadable="03_class_visualization.ipynb: 1.2 MB, over the 1 MB limit (--max-mb): not read",
        unanswered="q6 q8 q9 q10 q11", short="q7",
        figures_missing=f"02_adversarial_examples.ipynb: {figure_cells(2)} of {figure_cells(2)} figure cells",
        duplicate="same file as sub/alice; q1 identical to sub/bob; q1 q2 q3 q4 identical to sub/erin",
        found_by="q8 not found; q9 not found; q10 not found; q11 not found",
        notes="02_adversarial_examples.ipynb: nbformat 3, not 4")


def test_hostile_answers_non_utf8_and_fallbacks(graded):
    assert graded["rows"]["sub/dave"] == row(
        "sub/dave", files("dave", 1, 2, 3),
        {"q1": HOSTILE["q1"], "q2": HOSTILE["q2"], "q3": HOSTILE["q3"], "q4": "'" + HOSTILE["q4"],
         "q5": "Le changement naïf est concentré sur le chien, caf\ufffd, là où le gradient est grand.",
         "q6": GOOD["q6"], "q7": "'+1 for PGD: it is bounded by epsilon and adversarial training retrains on it."},
        unreadable="03_class_visualization.ipynb: not a notebook: no cells",
        unanswered="q8 q9 q10 q11", short="q1 q2 q3",
        duplicate="q6 identical to sub/alice; q6 identical to sub/bob; q6 identical to sub/erin",
        found_by="q6 grade_id + 1 cell after; q7 after prompt; q8 not found; q9 not found; q10 not found; "
                 "q11 not found",
        notes="02_adversarial_examples.ipynb: not UTF-8: undecodable bytes shown as \ufffd; "
              "03_class_visualization.ipynb: nbformat 99, not 4")


def test_same_answers_in_other_files(graded):
    assert graded["rows"]["sub/erin"] == row(
        "sub/erin", files("erin", 1, 2, 3), GOOD,
        not_executed="01_saliency_maps.ipynb; 02_adversarial_examples.ipynb; 03_class_visualization.ipynb",
        duplicate="same answers as sub/alice; q1 q5 q6 q7 identical to sub/bob; q1 q2 q3 q4 identical to sub/carol; "
                  "q6 identical to sub/dave")


def test_a_folder_of_everyones_notebook_01_gives_one_row_per_notebook(graded):
    assert graded["rows"]["flat/eve.ipynb"] == row(
        "flat/eve.ipynb", ["flat/eve.ipynb"], EVE, duplicate="q3 identical to flat/frank.ipynb")
    assert graded["rows"]["flat/frank.ipynb"] == row(
        "flat/frank.ipynb", ["flat/frank.ipynb"], {"q1": "Sensitivity of the score to each pixel.", "q2": TEMPLATE,
                                                   "q3": EVE["q3"], "q4": TEMPLATE},
        unchanged="q2 q4", short="q1", figures_missing=f"frank.ipynb: {figure_cells(1)} of {figure_cells(1)} figure cells",
        duplicate="q3 identical to flat/eve.ipynb")


# ---------------------------------------------------------------------------------------------- the HTML


def test_html_is_self_contained_and_runs_nothing(graded):
    page = graded["html"]
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                           "style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'\">\n")
    assert "<script" not in page.lower()
    assert re.search(r"<[a-z][^>]*\s(src|on\w+)\s*=", page, re.I) is None  # no tag loads or runs anything
    assert 'href="javascript' not in page.lower() and "<img" not in page.lower()
    assert re.findall(r'href="([^"#][^"]*)"', page) == []  # only links within the page


def test_html_shows_a_script_answer_as_text(graded):
    assert ('<tr><td><a href="#s6">sub/dave</a><br><span class="badge short">very short: 1 word</span></td>\n'
            '<td class="answer"><p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n</td>\n'
            '<td class="hints"><span class="kp" title="key point 1: no hint word found">1 \u00b7</span>'
            '<span class="kp" title="key point 2: no hint word found">2 \u00b7</span>'
            '<span class="kp" title="key point 3: no hint word found">3 \u00b7</span>'
            '<span class="kp" title="key point 4: no hint word found">4 \u00b7</span></td></tr>\n') in graded["html"]


def test_html_neutralises_links_images_and_raw_tags(graded):
    page = graded["html"]
    assert ('<p>See <a href="#unsafe-link" rel="nofollow noopener noreferrer">my notes</a> and '
            '<span class="image">[image not shown: plot]</span> here.</p>\n') in page
    assert "<p>&lt;img src=x onerror=alert(1)&gt; is how the gradient is shown</p>\n" in page
    assert "<p>=HYPERLINK(&quot;http://evil.example&quot;,&quot;click me&quot;) because of" in page


def test_html_puts_the_rubric_beside_each_questions_answers(graded):
    page = graded["html"]
    q1 = page[page.index('<section class="question" id="q1">'):page.index('<section class="question" id="q2">')]
    assert q1.startswith('<section class="question" id="q1">\n<h3>Question 1: What a saliency map shows, and what '
                         'it does not <span class="notebook">01_saliency_maps.ipynb</span></h3>\n<div class="cols">\n'
                         '<aside class="rubric">\n<div class="prompt"><p><strong>Question 1.</strong> Look at Figure 1.')
    assert "<h4>Key points a good answer makes</h4>\n<ol>\n<li>It shows how sensitive the true class&#x27;s score" in q1
    assert "<h4>Common misconceptions</h4>\n<ul>\n<li>Reading the map as what the network" in q1
    assert ("<thead><tr><th>submission</th><th>answer</th><th>key points it seems to touch (hint, not a grade)</th>"
            "</tr></thead>") in q1
    # every submission that should answer q1 has a row, in order
    assert re.findall(r'<tr><td><a href="#(s\d)">', q1) == ["s1", "s2", "s3", "s4", "s5", "s6", "s7"]
    q5 = page[page.index('<section class="question" id="q5">'):page.index('<section class="question" id="q6">')]
    assert re.findall(r'<tr><td><a href="#(s\d)">', q5) == ["s3", "s4", "s5", "s6", "s7"]  # not eve's or frank's 01


def test_html_marks_the_key_points_an_answer_seems_to_touch(graded):
    assert ('<td class="hints"><span class="kp yes" title="key point 1: hint words found: gradient">1 \u2713</span>'
            '<span class="kp" title="key point 2: no hint word found">2 \u00b7</span>'
            '<span class="kp yes" title="key point 3: hint words found: quail, bird">3 \u2713</span>'
            '<span class="kp yes" title="key point 4: hint words found: hay, spread, background, texture">4 \u2713'
            '</span></td>') in graded["html"]
    assert ('<p class="note">The marks next to an answer say which key points of the rubric it seems to touch, '
            'from hint words found in it: a hint for the grader, never a grade.</p>') in graded["html"]


def test_html_per_student_answers_and_flags(graded):
    page = graded["html"]
    dave = page[page.index('<section class="student" id="s6">'):page.index('<section class="student" id="s7">')]
    assert dave.startswith('<section class="student" id="s6">\n<h3>sub/dave</h3>\n<ul class="files">\n'
                           "<li>sub/dave/01_saliency_maps.ipynb</li>\n")
    assert ('<dl class="flags">\n<dt>unreadable:</dt><dd>03_class_visualization.ipynb: not a notebook: no cells</dd>\n'
            "<dt>unanswered:</dt><dd>q8 q9 q10 q11</dd>\n<dt>very short:</dt><dd>q1 q2 q3</dd>\n") in dave
    assert ('<h4><a href="#q6">Question 6</a> <span class="badge">+ 1 cell after the answer cell</span></h4>\n'
            '<div class="answer"><p>A tiny, invisible change flips the class') in dave
    assert '<h4><a href="#q7">Question 7</a> <span class="badge">found after prompt</span></h4>\n' in dave
    assert ('<h4><a href="#q8">Question 8</a> <span class="badge unanswered">unanswered</span>'
            '<span class="badge">not found</span></h4>\n<div class="answer"><p class="none">no answer</p>\n') in dave
    alice = page[page.index('<section class="student" id="s3">'):page.index('<section class="student" id="s4">')]
    assert "<dt>duplicate:</dt><dd>same file as sub/carol; q1 q5 q6 q7 identical to sub/bob;" in alice
    assert "<dt>never executed:</dt>" not in alice
    erin = page[page.index('<section class="student" id="s7">'):]
    assert ("<dt>never executed:</dt><dd>01_saliency_maps.ipynb; 02_adversarial_examples.ipynb; "
            "03_class_visualization.ipynb</dd>\n") in erin


# ---------------------------------------------------------------------------------------------- never written, never run


def test_submissions_are_never_written(graded):
    after = snapshot(graded["root"])
    for path, (data, mtime) in graded["before"].items():
        assert after[path] == (data, mtime), path
    assert set(after) - set(graded["before"]) == {graded["root"] / "grading" / name
                                                  for name in ("grades.csv", "report.html", ".tpviz-grade")}


NO_IMPORT = ("torch", "numpy", "matplotlib", "nbclient", "nbconvert", "jupyter_client", "ipykernel", "nbformat")


def test_grading_runs_nothing_and_imports_no_torch(tmp_path):
    """In a fresh interpreter: the notebook's code never runs, and no torch, numpy, kernel or executor is imported."""
    marker = tmp_path / "MARKER"
    nb = fill(template(1), answers("q1"))
    nb["cells"].insert(1, {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                           "source": [f"open({str(marker)!r}, 'w').write('ran')\n"]})
    put(tmp_path / "sub" / "x.ipynb", nb)
    script = (
        "import argparse, sys\n"
        "import tpviz.grading.command as g\n"
        "p = argparse.ArgumentParser(); g.add_arguments(p)\n"
        f"code = g.run(p.parse_args([{str(tmp_path / 'sub')!r}, '--out', {str(tmp_path / 'out')!r}]))\n"
        f"bad = [m for m in {NO_IMPORT!r} if m in sys.modules]\n"
        "print('imported:', bad); sys.exit(code or (3 if bad else 0))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "imported: []" in done.stdout
    assert not marker.exists()
    assert (tmp_path / "out" / "grades.csv").exists()


# ---------------------------------------------------------------------------------------------- the command


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    _grade_cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_interface_for_the_tpviz_command():
    assert isinstance(_grade_cli.HELP, str) and "\n" not in _grade_cli.HELP
    assert (_grade_cli.MIN_WORDS, _grade_cli.MAX_MB) == (_submissions.MIN_WORDS, _submissions.MAX_MB)
    args = parse("a", "b")
    assert (args.paths, args.out, args.rows, args.min_words, args.max_mb, args.overwrite, args.rubric) == (
        ["a", "b"], "grading", "auto", 10, 50.0, False, None)


def test_run_writes_both_files_and_returns_0(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    put(tmp_path / "s" / "a.ipynb", fill(template(1), answers("q1", "q2")))
    assert _grade_cli.run(parse("s", "--out", "results/grading")) == 0
    out = capsys.readouterr().out
    assert out == ("1 submission from 1 notebook; 0 unreadable; answers: 0 unanswered, 2 unchanged from the template, "
                   "0 very short (under 10 words); 0 submissions flagged as duplicates.\n"
                   "wrote results/grading/grades.csv and results/grading/report.html\n")
    rows = list(csv.reader(io.StringIO((tmp_path / "results" / "grading" / "grades.csv").read_text("utf-8-sig"))))
    assert rows[1] == row("s", ["s/a.ipynb"], {**answers("q1", "q2"), "q3": TEMPLATE, "q4": TEMPLATE},
                          unchanged="q3 q4", not_executed="a.ipynb")
    assert not list(tmp_path.rglob(".*.tmp"))


@pytest.mark.parametrize("argv, message", [
    ([], "no notebooks given: pass the submitted notebooks (.ipynb files) or folders that contain them, e.g. "
         "`tpviz grade submitted/`"),
    (["empty"], "no notebooks (.ipynb) found in empty: pass the submitted notebooks (.ipynb files) or folders that "
                "contain them"),
    (["missing"], "missing: no such file or folder. Pass submitted notebooks (.ipynb) or folders of them."),
    (["s", "--out", "s/grading"], "--out s/grading lies inside the submissions (s): tpviz grade never writes among "
                                  "the submissions; choose an --out outside the submissions, e.g. --out grading"),
    (["s", "--out", "s"], "--out s lies inside the submissions (s)"),
    (["s", "--out", "s/a.ipynb"], "--out s/a.ipynb: exists and is not a folder"),
    (["s", "--max-mb", "0"], "--min-words 10 / --max-mb 0: use a count >= 0 and a size > 0"),
    (["s", "--rubric", "nope.json"], "rubric nope.json: cannot be read"),
])
def test_usage_errors_exit_2_with_what_to_pass(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("not a notebook")
    put(tmp_path / "s" / "a.ipynb", template(1))
    before = snapshot(tmp_path)
    assert _cli.main(["grade", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tpviz grade: error: ") and message in err, err
    assert snapshot(tmp_path) == before  # nothing written anywhere
    with pytest.raises(InputError):
        _grade_cli.run(parse(*argv))


def test_a_report_edited_since_it_was_written_is_never_replaced(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    put(tmp_path / "s" / "a.ipynb", fill(template(1), answers("q1")))
    assert _cli.main(["grade", "s"]) == 0
    assert _cli.main(["grade", "s"]) == 0  # its own files, unchanged: replaced
    marks = (tmp_path / "grading" / "grades.csv").read_text("utf-8-sig") + "s,mark: 17/20\n"
    (tmp_path / "grading" / "grades.csv").write_text(marks, encoding="utf-8-sig")
    capsys.readouterr()
    assert _cli.main(["grade", "s"]) == 2
    assert "grading/grades.csv exists and was edited since tpviz grade wrote it" in capsys.readouterr().err
    assert (tmp_path / "grading" / "grades.csv").read_text("utf-8-sig") == marks
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "report.html").write_text("mine")
    assert _cli.main(["grade", "s", "--out", "other"]) == 2
    assert (tmp_path / "other" / "report.html").read_text() == "mine"
    assert _cli.main(["grade", "s", "--overwrite"]) == 0
    assert "mark: 17/20" not in (tmp_path / "grading" / "grades.csv").read_text("utf-8-sig")


def test_python_m_tpviz_grade(tmp_path):
    put(tmp_path / "s" / "a.ipynb", template(2))
    done = subprocess.run([sys.executable, "-m", "tpviz", "grade", "s", "--out", "g"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "g" / "report.html").read_text(encoding="utf-8").count('<section class="question"') == 11
    empty = subprocess.run([sys.executable, "-m", "tpviz", "grade"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=120)
    assert empty.returncode == 2 and "pass the submitted notebooks" in empty.stderr


def test_rows_option_and_a_custom_rubric(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    put(tmp_path / "s" / "a.ipynb", fill(template(1), EVE))
    put(tmp_path / "s" / "b.ipynb", fill(template(2), answers("q5")))
    assert [s.name for s in collect(["s"])] == ["s"]
    assert [s.name for s in collect(["s"], rows="notebook")] == ["s/a.ipynb", "s/b.ipynb"]
    assert collect(["s"], rows="notebook")[1].expected == ("q5", "q6", "q7")
    rubric = json.loads((ROOT / "tpviz" / "grading" / "rubric.json").read_text(encoding="utf-8"))
    rubric["questions"]["q1"]["key_points"] = [{"point": "Mentions the mastiff", "hints": ["mastiff"]}]
    (tmp_path / "mine.json").write_text(json.dumps(rubric), encoding="utf-8")
    assert _grade_cli.run(parse("s", "--rubric", "mine.json", "--out", "g")) == 0
    page = (tmp_path / "g" / "report.html").read_text(encoding="utf-8")
    assert "<ol>\n<li>Mentions the mastiff<br><span class=\"hintwords\">hint words: mastiff</span></li>\n</ol>" in page
    assert '<span class="kp yes" title="key point 1: hint words found: mastiff">1 \u2713</span></td>' in page
    (tmp_path / "bad.json").write_text('{"questions": {"q1": {"title": 3}}}', encoding="utf-8")
    with pytest.raises(InputError, match="not laid out like tpviz/grading/rubric.json"):
        load_rubric(tmp_path / "bad.json")


# ---------------------------------------------------------------------------------------------- reading one file


def read_bytes(tmp_path: Path, data: bytes, **kw: Any):
    return read_notebook(put(tmp_path / "x.ipynb", data), **kw)


@pytest.mark.parametrize("data, error", [
    (b"", "empty file"),
    (b"  \n", "empty file"),
    (b"hello", "not valid JSON: line 1, column 1: Expecting value"),
    (b'{"cells": [}', "not valid JSON: line 1, column 12: Expecting value"),
    (b'{"cells": [{"source": "abc', "not valid JSON: ends early (truncated?)"),
    (b'{"cells": [', "not valid JSON: ends early (truncated?)"),
    (b"[1, 2]", "not a notebook: the JSON is not an object"),
    (b'"a string"', "not a notebook: the JSON is not an object"),
    (b'{"nbformat": 4}', "not a notebook: no cells"),
    (b'{"worksheets": [{"cells": 3}]}', ""),
    (b"[" * 200_000 + b"]" * 200_000, "not a notebook: JSON nested too deeply"),
    (b"\x00\xff\xfe garbage \x80", "not valid JSON: line 1, column 1: Expecting value"),
    (b'{"cells": [], "n": ' + b"9" * 5000 + b"}", "not valid JSON: Exceeds the limit (4300 digits) for integer string "
                                                 "conversion: value has 5000 digits; use sys.set_int_max_str_digits() "
                                                 "to increase the limit"),
])
def test_broken_files_give_a_reason_never_an_exception(tmp_path, data, error):
    nb = read_bytes(tmp_path, data)
    assert nb.error == error
    assert nb.answers == {}


def test_a_notebook_without_questions_says_so(tmp_path):
    nb = read_bytes(tmp_path, dump({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                    "cells": [{"cell_type": "markdown", "metadata": {}, "source": "hello"}]}))
    assert (nb.error, nb.answers) == ("", {})
    assert nb.notes == ("no answer cells or 'Question N' headings found (not one of the kit's notebooks?)",)


def test_size_cap_is_checked_before_reading(tmp_path):
    nb = read_bytes(tmp_path, dump(template(1)), max_bytes=1000)
    assert nb.error == "0.0 MB, over the 0.001 MB limit (--max-mb): not read"
    assert nb.sha256 == ""


def test_hostile_structures_are_ignored_not_fatal(tmp_path):
    nb = {"nbformat": 4, "cells": [
        1, "x", None, [],
        {"cell_type": "markdown", "source": 5, "metadata": []},
        {"cell_type": "markdown", "source": ["a", 3, None], "metadata": {"nbgrader": "q1"}},
        {"cell_type": "markdown", "source": "ok", "metadata": {"nbgrader": {"grade_id": ["q2"]}}},
        {"cell_type": "code", "source": {"a": 1}, "outputs": "none", "execution_count": "7", "metadata": {"tags": "x"}},
        {"cell_type": "markdown", "source": ["Real answer ", "\ud800 with a lone surrogate"],
         "metadata": {"nbgrader": {"grade_id": "q3"}}},
    ]}
    read = read_bytes(tmp_path, json.dumps(nb).encode())
    assert read.error == ""
    assert list(read.answers) == ["q3"]
    assert read.executed is True
    text = csv_text(collect([tmp_path / "x.ipynb"]))  # the surrogate must not break writing
    assert "Real answer ? with a lone surrogate" in text


def test_utf16_and_bom_notebooks_are_read(tmp_path):
    nb = fill(template(1), {"q1": "Réponse en français, avec des accents: élève."})
    text = json.dumps(nb, ensure_ascii=False)
    utf16 = read_bytes(tmp_path, text.encode("utf-16"))
    assert utf16.answers["q1"].text == "Réponse en français, avec des accents: élève."
    assert utf16.notes == ("encoded as UTF-16, not UTF-8",)
    bom = read_bytes(tmp_path, b"\xef\xbb\xbf" + text.encode())
    assert (bom.answers["q1"].text, bom.notes) == ("Réponse en français, avec des accents: élève.", ())


def test_nbformat_3_reads_code_cells_from_input_and_prompt_number(tmp_path):
    nb = read_bytes(tmp_path, dump(to_v3(run_cells(fill(template(3), answers("q8"))))))
    assert nb.notes == ("nbformat 3, not 4",)
    assert nb.answers["q8"].text == GOOD["q8"]
    assert (nb.executed, nb.figure_cells, nb.figures_missing) == (True, figure_cells(3), figure_cells(3))
    assert figure_cells(3) >= 7  # Figures 4-10


# ---------------------------------------------------------------------------------------------- finding answers


def cells_of(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return nb["cells"]


def test_answers_by_grade_id_in_the_real_notebooks():
    for section, qs in SECTIONS.items():
        found, notes = find_answers(cells_of(template(section)))
        assert list(found) == list(qs) and notes == ()
        assert all(a.text == TEMPLATE and a.found == "grade_id" for a in found.values())


def test_heading_fallback_when_all_metadata_is_gone():
    nb = strip_nbgrader(fill(template(1), {"q1": "First part.\n\nSecond paragraph.", "q3": GOOD["q3"]}))
    found, _ = find_answers(cells_of(nb))
    assert {q: (a.text, a.found) for q, a in found.items()} == {
        "q1": ("First part.\n\nSecond paragraph.", "after heading"), "q2": (TEMPLATE, "after heading"),
        "q3": (GOOD["q3"], "after heading"), "q4": (TEMPLATE, "after heading")}


def test_answer_split_over_new_cells_and_duplicated_answer_cells():
    nb = fill(template(1), {"q1": "Part one of my answer.", "q2": "Cell A."})
    cells = cells_of(nb)
    at = cells.index(cell_of(nb, "q1"))
    cells[at + 1:at + 1] = [{"cell_type": "markdown", "metadata": {}, "source": "Part two."},
                            {"cell_type": "markdown", "metadata": {}, "source": "  "}]
    q2 = cell_of(nb, "q2")
    cells.insert(cells.index(q2) + 1, copy.deepcopy(q2) | {"source": "Cell B."})
    found, notes = find_answers(cells)
    assert (found["q1"].text, found["q1"].extra_cells) == ("Part one of my answer.\n\nPart two.", 1)
    assert (found["q2"].text, found["q2"].cells) == ("Cell A.\n\nCell B.", 2)
    assert notes == ("q2: 2 cells carry grade_id q2, joined",)


def test_very_long_answers_are_cut_with_a_note():
    nb = fill(template(1), {"q1": "word " * 10_000})
    found, notes = find_answers(cells_of(nb))
    assert len(found["q1"].text) == 20_000 and found["q1"].chars == 49_999  # the last space stripped
    assert notes == ("q1: answer cut to 20,000 of 49,999 characters",)


# ---------------------------------------------------------------------------------------------- CSV and markdown guards


@pytest.mark.parametrize("cell, shown", [
    ("=1+1", "'=1+1"), ("+33 6 12", "'+33 6 12"), ("-1", "'-1"), ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=cmd", "'\t=cmd"), ("\r=cmd", "'\r=cmd"), ("- a markdown list", "'- a markdown list"),
    ("a = b", "a = b"), ("", ""), ("'quoted", "'quoted"), ("x\x00y\x07", "xy"),
])
def test_csv_cells_cannot_be_formulas(cell, shown):
    assert csv_cell(cell) == shown


@pytest.mark.parametrize("url, safe", [
    ("https://example.org/a", "https://example.org/a"), ("HTTP://x", "HTTP://x"), ("mailto:a@b.c", "mailto:a@b.c"),
    ("javascript:alert(1)", "#unsafe-link"), (" JavaScript:alert(1)", "#unsafe-link"),
    ("java\nscript:alert(1)", "#unsafe-link"), ("data:text/html,<b>", "#unsafe-link"),
    ("vbscript:x", "#unsafe-link"), ("file:///etc/passwd", "#unsafe-link"), ("//evil.example", "#unsafe-link"),
])
def test_only_web_and_mail_links_survive(url, safe):
    assert safe_url(url) == safe


@pytest.mark.parametrize("markdown, rendered", [
    ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"),
    ("a <b onclick=x>b</b>", "<p>a &lt;b onclick=x&gt;b&lt;/b&gt;</p>\n"),
    ("[x](jav&#x61;script:alert(1))", '<p><a href="#unsafe-link" rel="nofollow noopener noreferrer">x</a></p>\n'),
    ("<javascript:alert(1)>",
     '<p><a href="#unsafe-link" rel="nofollow noopener noreferrer">javascript:alert(1)</a></p>\n'),
    ('[x](https://a.example "t\\"><script>")',
     '<p><a href="https://a.example" rel="nofollow noopener noreferrer" title="t&quot;&gt;&lt;script&gt;">x</a></p>\n'),
    ("![](attachment:image.png)", '<p><span class="image">[image not shown]</span></p>\n'),
    ("# Big title", '<p class="md-heading"><strong>Big title</strong></p>\n'),
    ("*gradient* and `<code>`", "<p><em>gradient</em> and <code>&lt;code&gt;</code></p>\n"),
])
def test_markdown_renders_without_raw_html(markdown, rendered):
    assert render_markdown(markdown) == rendered


# ---------------------------------------------------------------------------------------------- the rubric


def test_rubric_covers_every_question_with_the_notebooks_prompts():
    rubric = load_rubric()
    assert list(rubric) == list(QUESTIONS)
    for section, qs in SECTIONS.items():
        nb = template(section)
        for q in qs:
            assert rubric[q].notebook == NOTEBOOKS[section].name
            assert rubric[q].prompt == "".join(cell_of(nb, f"{q}_prompt")["source"]), q
            assert len(rubric[q].key_points) >= 3 and len(rubric[q].misconceptions) >= 2
            assert all(kp.point and kp.hints for kp in rubric[q].key_points)


def test_hint_words_match_word_beginnings_only():
    kp = load_rubric()["q1"].key_points[0]  # sensitiv, gradient, derivative, small change, ...
    assert kp.found_in("Its SENSITIVITY: a small-change\nsmall  change argument") == ("sensitiv", "small-change",
                                                                                      "small change")
    assert kp.found_in("insensitive, antigradient") == ()
    touched = tuple(bool(kp.found_in("the gradient on the quail")) for kp in load_rubric()["q1"].key_points)
    assert touched == (True, False, True, False)


def test_the_kit_ships_the_rubric():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^"tpviz.grading" = \["rubric\.json"\]', pyproject, re.M)
    assert re.search(r'^grade = \["mistune>=3', pyproject, re.M), "tpviz grade renders markdown with mistune 3"


def test_hostile_file_and_folder_names_are_escaped_everywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    put(tmp_path / "=cmd|calc" / "<b onmouseover=x>&.ipynb", fill(template(1), answers("q1")))
    assert _grade_cli.run(parse("=cmd|calc", "--out", "g")) == 0
    rows = list(csv.reader(io.StringIO((tmp_path / "g" / "grades.csv").read_text("utf-8-sig"))))
    assert rows[1][:2] == ["'=cmd|calc", "'=cmd|calc/<b onmouseover=x>&.ipynb"]
    page = (tmp_path / "g" / "report.html").read_text(encoding="utf-8")
    assert "<b " not in page
    assert '<h3>=cmd|calc</h3>\n<ul class="files">\n<li>=cmd|calc/&lt;b onmouseover=x&gt;&amp;.ipynb</li>' in page
