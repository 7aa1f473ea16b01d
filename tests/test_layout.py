"""The package's layout rules (README, "How it fits together"): what each folder may import, checked on the source
and, for the commands students and instructors run, in a fresh interpreter."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tpviz"
FOLDERS = ("files", "imagenet", "algorithms", "plots", "widgets", "check", "grading", "cli")
HEAVY_PACKAGES = {"torch", "torchvision", "numpy", "matplotlib", "ipywidgets"}

# folder -> what its modules must never import (top-level packages, or tpviz subpackages as "tpviz.<folder>")
NEVER = {
    "files": HEAVY_PACKAGES | {f"tpviz.{f}" for f in FOLDERS if f != "files"},
    "grading": HEAVY_PACKAGES | {f"tpviz.{f}" for f in FOLDERS if f not in ("grading", "files")},
    "algorithms": {"matplotlib", "ipywidgets", "tpviz.plots", "tpviz.widgets", "tpviz.cli", "tpviz.check", "tpviz.grading"},
    "imagenet": {"matplotlib", "ipywidgets", *(f"tpviz.{f}" for f in FOLDERS if f not in ("imagenet", "files"))},
    "plots": {"ipywidgets", "tpviz.widgets", "tpviz.cli", "tpviz.check", "tpviz.grading"},
    "widgets": {"matplotlib", "tpviz.cli", "tpviz.check", "tpviz.grading"},
    "check": {"matplotlib", "ipywidgets", "tpviz.plots", "tpviz.widgets", "tpviz.cli", "tpviz.grading"},
    "cli": set(),  # the commands sit on top of everything (each imports torch only inside its run())
    "": HEAVY_PACKAGES,  # the top-level modules: errors, config, validate, course
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _folder(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else ""


def _imports(path: Path, *, at: Path | None = None) -> set[str]:
    """Every module ``path`` imports, absolute (``tpviz.algorithms.ascent``, ``torch.nn``), wherever the import
    stands (also inside functions: a lazy import still loads the module when that code runs). ``at``: where in
    the package the file stands, when it is not there."""
    package = ["tpviz", *(at or path).relative_to(PACKAGE).parent.parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
                found |= {stem} if node.module else {f"{stem}.{a.name}" for a in node.names}
            elif node.module:
                found.add(node.module)
    return found


def _breaks(name: str, rule: str) -> bool:
    return name == rule or name.startswith(rule + ".")


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_folder_imports_only_what_its_layer_may(path: Path):
    folder = _folder(path)
    if path.name == "__init__.py" and folder == "":
        return  # the public namespace imports everything, lazily
    bad = sorted(name for name in _imports(path) for rule in NEVER[folder] if _breaks(name, rule))
    assert not bad, f"{path.relative_to(PACKAGE)} ({folder or 'top level'}) must not import {bad}"


def test_the_import_scan_sees_relative_and_lazy_imports(tmp_path: Path):
    """The rule test above can fail: a lazy relative import of plots from an algorithm is caught."""
    found = _imports(PACKAGE / "algorithms" / "ascent.py")
    assert "tpviz.imagenet.images" in found and "torch" in found
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from ..plots.style import model_label\n")
    assert any(_breaks(n, "tpviz.plots") for n in _imports(probe, at=PACKAGE / "algorithms" / "probe.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_300_lines(path: Path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 300, f"{path.relative_to(PACKAGE)} has {lines} lines: split it by job"


def _fresh(code: str, cwd: Path | None = None) -> list[str]:
    """Run ``code`` in a new interpreter; it prints a JSON list."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


HEAVY = "('torch', 'torchvision', 'numpy', 'matplotlib', 'ipywidgets')"


def test_tpviz_grade_help_and_a_grading_run_import_no_torch(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "**Q1.** What do you see?", "id": "a"}]}
    (tmp_path / "sub" / "01_saliency_maps.ipynb").write_text(json.dumps(notebook))
    code = ("import contextlib, io, json, sys\n"
            "from tpviz.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['grade', '--help'])\n    except SystemExit:\n        pass\n"
            "    code = main(['grade', 'sub', '--out', 'out'])\n"
            "assert code == 0, code\n"
            f"print(json.dumps([m for m in {HEAVY} if m in sys.modules]))")
    assert _fresh(code, cwd=tmp_path) == []
    assert (tmp_path / "out" / "grades.csv").is_file()


def test_import_tpviz_widgets_imports_no_pyplot():
    code = ("import json, sys, tpviz.widgets\n"
            "print(json.dumps([m for m in ('matplotlib', 'matplotlib.pyplot') if m in sys.modules]))")
    assert _fresh(code) == []
