"""The explorer under ipywidgets 7 in a browser: what a student on an ipywidgets 7.7 stack (Colab's) sees.

A venv of its own holds the front end that renders ipywidgets 7.7 (JupyterLab 3.6 with jupyterlab_widgets 1.1,
widgetsnbextension 3.6 and ipywidgets 7.7 itself) and has this environment behind it for torch and the rest
(``tests/test_colab_stack.py``'s ``.pth`` file); its JupyterLab and its kernel run from that venv. Two widget
front ends: jupyterlab_widgets 1.1.4, released with ipywidgets 7.7.5 and built for JupyterLab 3, and 1.1.11,
the newest (built for JupyterLab 3 or 4), which is what ``pip install "ipywidgets<8" "jupyterlab<4"`` gets today. Headless
Chromium opens a small notebook that prints the kernel's ipywidgets version and shows an explorer on a tiny
model; the test reads the version from the page, checks that the explorer renders with an image and no widget
error, and moves its learning-rate slider with the keyboard: the title must name the new value and the image's
bytes change. The front end's wheels come from the package index: without one, skipped. Reuses
``tests/test_browser.py``'s browser, step and artifact helpers; artifacts on failure go to
``test-artifacts/browser-widgets7/``. Everything is shut down in every case, and no process may be left.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from . import test_browser as tb
from ._lab import Lab, process_group_alive, start_lab, stop_lab, wait_gone
from .test_browser_explorer import notebook
from .test_colab_stack import install_colab_widgets, venv_over_this_one

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(os.environ.get("TPVIZ_SKIP_BROWSER") == "1", reason="TPVIZ_SKIP_BROWSER=1: the "
                                 "browser test of the explorer under ipywidgets 7 was skipped on request")]

ROOT = Path(__file__).resolve().parent.parent
# The front end (the ipywidgets 7.7 side is test_colab_stack's COLAB_WIDGETS); pip resolves what it needs
# beyond this environment (nbclassic, jupyter_server_ydoc, ...) and installs only that, into the venv.
FRONT_END = ["jupyterlab==3.6.*", "widgetsnbextension==3.6.*", "ipywidgets==7.7.*"]
WIDGETS_FRONT_ENDS = ["1.1.4", "1.1.11"]  # jupyterlab_widgets: ipywidgets 7.7.5's own, and the newest 1.1
VERSIONS = {"jupyterlab": "3.6.", "widgetsnbextension": "3.6.", "ipywidgets": "7.7."}
LR_GRID = (1, 3)
VERSION_CELL = "import sys, ipywidgets\nprint('ipywidgets', ipywidgets.__version__, 'in', sys.prefix)"
EXPLORER_CELL = f"""from tests.conftest import TinyConv
from tpviz.widgets import explorer

live = explorer(TinyConv(), classes=[1, 2], lr={LR_GRID}, l2_reg=(1e-4, 1e-1), iterations=(2, 4), size=16,
                max_jitter=2)
live"""


@pytest.fixture(scope="module", params=WIDGETS_FRONT_ENDS, ids=lambda v: f"jupyterlab_widgets-{v}")
def widgets7_env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with JupyterLab 3.6, ipywidgets 7.7 and its front end of its own, this environment behind it;
    its python."""
    started = time.monotonic()
    folder = tmp_path_factory.mktemp("widgets7")
    py = venv_over_this_one(folder / "venv")
    install_colab_widgets(py, folder / "wheels")  # skips when no package index is reachable
    wanted = [*FRONT_END, f"jupyterlab_widgets=={request.param}"]
    run = subprocess.run([py, "-m", "pip", "install", "-q", *wanted], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"pip could not install {wanted} into the venv:\n{run.stderr[-3000:]}"
    expected = {**VERSIONS, "jupyterlab_widgets": request.param}
    versions = json.loads(subprocess.check_output(
        [py, "-c", f"import json, importlib.metadata as m; print(json.dumps({{d: m.version(d) for d in {list(expected)}}}))"],
        text=True))
    assert all(versions[d].startswith(v) for d, v in expected.items()), versions
    print(f"venv with {versions} built in {time.monotonic() - started:.0f} s")
    return py


@contextmanager
def jupyterlab3(home: Path, python: Path) -> Iterator[Lab]:
    """The venv's JupyterLab 3 (``tests/_lab.py``), its kernels able to import ``tests``; stopped on exit."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    try:
        lab = start_lab(home, python=python, lab3=True, env={"PYTHONPATH": path},
                        timeout=tb.TIMEOUTS["JupyterLab start"])
    except RuntimeError as err:
        tb.fail(f"step 'JupyterLab start' failed: {err}")
    try:
        yield lab
    finally:
        stop_lab(lab, timeout=tb.TIMEOUTS["shutdown"])


def test_the_explorer_under_ipywidgets_7_in_jupyterlab_3(widgets7_env: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tb, "ARTIFACTS", ROOT / "test-artifacts" / "browser-widgets7")
    shutil.rmtree(tb.ARTIFACTS, ignore_errors=True)
    venv = widgets7_env.parent.parent
    started = time.monotonic()
    with tb.chromium(tmp_path / "chromium") as browser, jupyterlab3(tmp_path / "lab", widgets7_env) as lab:
        server_group = lab.process.pid
        (lab.root / "widgets7.ipynb").write_text(json.dumps(notebook([VERSION_CELL, EXPLORER_CELL]), indent=1))
        page = browser.pages[0] if browser.pages else browser.new_page()
        console = tb.record_console(page)
        with tb.artifacts_on_failure(page, lab, console):
            tb.open_notebook(page, lab, "widgets7.ipynb")
            config = json.loads(page.locator("#jupyter-config-data").text_content())
            assert config["appVersion"].startswith("3.6."), f"the page is JupyterLab {config['appVersion']}"
            widgets_front_end_is_the_venv_s(config, venv)
            tb.run_all_cells(page)
            kernel_has_ipywidgets_7(page, venv)
            explorer = tb.wait_for_explorer(page)
            image = explorer.locator("img.tpviz-image")
            assert tb.image_data(image)[:4] == b"\x89PNG", "the explorer's image shows no PNG"
            lr_slider_changes_title_and_image(explorer)
            tb.check_no_widget_errors(page)
            widget_errors = [line for line in console if line.startswith("pageerror")
                             or line.startswith("console.error") and "widget" in line.lower()]
            assert not widget_errors, f"the page logged errors: {widget_errors}"
    print(f"JupyterLab 3 with ipywidgets 7: browser part in {time.monotonic() - started:.0f} s")
    left = wait_gone(tmp_path, timeout=tb.TIMEOUTS["shutdown"]) + wait_gone(venv, timeout=tb.TIMEOUTS["shutdown"])
    assert not left, f"processes left behind: {[(p.pid, ' '.join(p.cmdline())[:120]) for p in left]}"
    assert not process_group_alive(server_group), f"JupyterLab's process group {server_group} is still alive"


def widgets_front_end_is_the_venv_s(config: dict, venv: Path) -> None:
    """The page loads the widget manager of the venv's jupyterlab_widgets 1.1 (and no other lab extension)."""
    loaded = {e["name"]: e["load"] for e in config["federated_extensions"]}
    assert list(loaded) == ["@jupyter-widgets/jupyterlab-manager"], f"the page loads {loaded}"
    manager = venv / "share/jupyter/labextensions/@jupyter-widgets/jupyterlab-manager"
    assert (manager / loaded["@jupyter-widgets/jupyterlab-manager"]).is_file(), f"not the one in {manager}"


def kernel_has_ipywidgets_7(page, venv: Path) -> None:
    """The first cell's output, read from the page: the kernel runs the venv's python with ipywidgets 7.7."""
    output = page.locator(".jp-Notebook .jp-CodeCell").first.locator(".jp-OutputArea-output")
    with tb.step("explorer ready") as ms:
        output.first.wait_for(timeout=ms)
    text = output.first.inner_text().strip()
    found = re.fullmatch(r"ipywidgets (\S+) in (\S+)", text)
    assert found and found[1].startswith("7.7."), f"the kernel printed {text!r}"
    assert Path(found[2]).resolve() == venv.resolve(), f"the kernel runs {found[2]}, not the venv {venv}"


def lr_slider_changes_title_and_image(explorer) -> None:
    """ipywidgets 7's sliders are jQuery UI's: move the lr one a step with the keyboard (its handle focused);
    the title must name the new value and the image's bytes change."""
    control = explorer.locator(".tpviz-lr")
    handle, readout = control.locator(".ui-slider-handle"), control.locator(".widget-readout")
    title, image = explorer.locator(".tpviz-title"), explorer.locator("img.tpviz-image")
    before_value, before_data = readout.inner_text().strip(), tb.image_data(image)
    tb.wait_until(lambda: f"lr={before_value} " in title.inner_text(), "slider",
                  lambda: f"the lr slider reads {before_value}, the title {title.inner_text()!r}")
    handle.focus()
    handle.press("ArrowLeft" if before_value == f"{max(LR_GRID):g}" else "ArrowRight")
    tb.wait_until(lambda: readout.inner_text().strip() != before_value, "slider",
                  f"the lr slider did not move from {before_value} with the arrow keys")
    value = readout.inner_text().strip()
    tb.wait_until(lambda: f"lr={value} " in title.inner_text(), "slider",
                  lambda: f"after moving lr {before_value} -> {value}, the title reads {title.inner_text()!r}")
    tb.wait_until(lambda: tb.image_data(image) != before_data, "slider",
                  f"moving lr {before_value} -> {value} left the image's bytes unchanged")
