"""pyproject.toml and environment.yml declare the same dependencies; CI calls the README's command."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
CONDA_TO_PYPI = {"pytorch": "torch"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    assert m, req
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def _pyproject() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = meta["dependencies"] + meta["optional-dependencies"]["test"]
    return dict(_split(r) for r in reqs)


def _environment() -> dict[str, str]:
    deps, in_pip = {}, False
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("\ndependencies:\n", 1)[1].splitlines():
        if re.match(r"^\s*- pip:\s*$", line):
            in_pip = True
            continue
        m = re.match(r"^(\s*)- (.+?)\s*(#.*)?$", line)
        if not m or in_pip and len(m.group(1)) > 2:
            continue
        in_pip = False
        name, spec = _split(m.group(2).replace("=", "==", 1) if re.match(r"^[\w.-]+=[^=]", m.group(2)) else m.group(2))
        if name not in ("python", "pip"):
            deps[CONDA_TO_PYPI.get(name, name)] = spec
    return deps


def test_environment_yml_and_pyproject_agree():
    assert _environment() == _pyproject()


def test_the_required_stack_is_declared():
    assert {"torch", "torchvision", "jupyterlab", "ipywidgets", "matplotlib", "numpy", "nbval", "pytest"} <= set(_pyproject())


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^exec make test$", ci, re.M)
    assert "make test" in readme
    for var in ("TPVIZ_WEIGHTS_DIR", "TPVIZ_DATA_DIR", "TPVIZ_ALLOW_RANDOM_WEIGHTS"):
        assert var in ci
