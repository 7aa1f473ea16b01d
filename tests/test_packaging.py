"""pyproject.toml and environment.yml declare the same dependencies; CI calls the README's command."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
# conda-forge's name -> PyPI's. conda-forge's `playwright` is the Node.js package, not the Python binding.
CONDA_TO_PYPI = {"pytorch": "torch", "playwright-python": "playwright"}
EXTRAS_IN_CONDA = ("lab", "grade", "test")  # environment.yml is the whole stack: runtime + these extras


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    assert m, req
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def _meta() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pyproject() -> dict[str, str]:
    """Runtime, then each extra in turn (an extra's bound wins: ipywidgets>=7.7 at runtime, >=8 with lab)."""
    meta = _meta()
    reqs = meta["dependencies"] + [r for x in EXTRAS_IN_CONDA for r in meta["optional-dependencies"][x]]
    return dict(_split(r) for r in reqs if not r.startswith("tpviz["))


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


def test_runtime_dependencies_leave_a_running_jupyter_alone():
    """On Colab or a JupyterHub, installing the kit must not replace the server's Jupyter or ipywidgets 7."""
    runtime = dict(_split(r) for r in _meta()["dependencies"])
    assert set(runtime) == {"torch", "torchvision", "numpy", "pillow", "matplotlib", "ipywidgets", "tqdm"}
    assert runtime["ipywidgets"] == ">=7.7"
    extras = _meta()["optional-dependencies"]
    assert {_split(r)[0] for r in extras["lab"]} == {"jupyterlab", "jupyterlab-widgets", "ipywidgets"}
    assert [_split(r)[0] for r in extras["grade"]] == ["mistune"]
    assert "tpviz[lab,grade]" in extras["test"] and "dev" in extras


def test_environment_yml_uses_conda_forge_names_and_installs_the_kit_without_editable_mode():
    text = (ROOT / "environment.yml").read_text()
    names = re.findall(r"^  - ([A-Za-z0-9_.-]+)", text, re.M)
    assert "playwright-python" in names and "playwright" not in names and "torch" not in names
    assert re.search(r"^  - pip:\n      - \.$", text, re.M), "the pip section installs the kit from its folder"
    assert "-e ." not in text


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^exec make test$", ci, re.M)
    assert "make test" in readme
    for var in ("TPVIZ_WEIGHTS_DIR", "TPVIZ_DATA_DIR", "TPVIZ_ALLOW_RANDOM_WEIGHTS"):
        assert var in ci


def test_readme_has_a_section_for_each_place_students_and_classes_run():
    readme = (ROOT / "README.md").read_text()
    headings = re.findall(r"^## (.+)$", readme, re.M)
    expected = ["Commands", "Run on Colab", "conda", "Windows, without make", "Offline lab", "Deploy for a class"]
    assert headings[: len(expected)] == expected
    repository = _meta()["urls"]["Repository"]
    assert f"https://colab.research.google.com/github/{repository.removeprefix('https://github.com/')}/" in readme
    for command in ('.venv\\Scripts\\pip install -e ".[lab]"', "tpviz download --models squeezenet1_1,vgg16 --to",
                    "conda env create -f environment.yml", "repo2docker --no-run --push", "nbgrader autograde tp"):
        assert command in readme, command
