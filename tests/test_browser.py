"""End to end: notebook 03's live explorer in a real JupyterLab under headless Chromium (what a student sees).

A private JupyterLab (``tests/_lab.py``: loopback port, temporary token and folders) serves a copy of
``notebooks/03_class_visualization.ipynb``; Chromium opens it, runs all cells in fast mode, moves the
explorer's learning-rate and L2 sliders with the keyboard, and checks that the image on screen changes and
that no widget or cell error is shown; it prints the time from each key press to the new image (a computed
cell: the aim is < 100 ms; printed, never asserted), then runs a new cell that picks another class and checks
that the kernel answered it while that class's grid was still filling in the background. On failure, screenshots, the page's HTML, the browser console and
the server log are saved in ``test-artifacts/browser/``. JupyterLab (kernels included) and Chromium are
shut down in every case, and the test checks that none of their processes is left.

Needs Chromium (``make browser-deps``; ``TPVIZ_CHROMIUM`` names another Chromium/Chrome binary) and the real
SqueezeNet weights (skipped, with the reason, without them, as the notebooks are). ``TPVIZ_SKIP_BROWSER=1``
skips it visibly; CI does not set it. ``TPVIZ_BROWSER_TIMEOUT`` bounds "run all cells" (default 900 s).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from PIL import Image

from tpviz.imagenet.weights import weights_on_disk

from ._lab import Lab, kill_processes, process_group_alive, processes_mentioning, start_lab, stop_lab, wait_gone
from .conftest import REAL_WEIGHTS_REASON

try:
    import playwright.sync_api as pw
except ImportError:  # reported as a failure by the test, not as a collection error of the whole run
    pw = None

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "03_class_visualization.ipynb"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("TPVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INSTALL_HINT = ("Install it with `make browser-deps` (as root it runs `apt-get install -y chromium chromium-driver`; "
                "otherwise run `sudo apt-get install chromium chromium-driver`), or set TPVIZ_CHROMIUM to a "
                "Chromium/Chrome binary. TPVIZ_SKIP_BROWSER=1 skips this test (CI must not set it).")
# Seconds allowed for each step; a step that runs out fails the test with its name.
TIMEOUTS = {"browser start": 60, "JupyterLab start": 120, "notebook open": 120, "Run menu": 30,
            "run all cells": float(os.environ.get("TPVIZ_BROWSER_TIMEOUT", "900")),
            "explorer ready": 120, "slider": 120, "new cell": 60, "save": 60, "shutdown": 20}
# The explorer's sliders, and how the explorer's title names their value.
SLIDERS = {"lr": "lr=", "l2": "L2="}


def test_explorer_sliders_change_the_image_in_jupyterlab(tmp_path: Path) -> None:
    if os.environ.get("TPVIZ_SKIP_BROWSER") == "1":
        pytest.skip("TPVIZ_SKIP_BROWSER=1: the browser test of the live explorer was skipped on request")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    with chromium(tmp_path / "chromium") as browser:  # first: a browser that cannot start fails, weights or not
        if weights_on_disk("squeezenet1_1") is None:
            pytest.skip(f"the browser test runs notebook 03, which {REAL_WEIGHTS_REASON}")
        with jupyterlab(tmp_path / "lab") as lab:
            server_group = lab.process.pid
            shutil.copy(NOTEBOOK, lab.root / NOTEBOOK.name)
            page = browser.pages[0] if browser.pages else browser.new_page()
            console = record_console(page)
            with artifacts_on_failure(page, lab, console):
                open_notebook(page, lab, NOTEBOOK.name)
                started = time.monotonic()
                run_all_cells(page)
                print(f"all cells ran in {time.monotonic() - started:.0f} s")
                explorer = wait_for_explorer(page)
                for slider in SLIDERS:
                    move_slider_and_check_image(explorer, slider)
                kernel_answers_while_the_grid_fills(page, explorer)
                check_no_widget_errors(page)
                check_no_error_outputs(page, lab.root / NOTEBOOK.name)
    left = wait_gone(tmp_path, timeout=TIMEOUTS["shutdown"])
    assert not left, f"processes left behind: {[(p.pid, ' '.join(p.cmdline())[:120]) for p in left]}"
    assert not process_group_alive(server_group), f"JupyterLab's process group {server_group} is still alive"


# -- browser and server ---------------------------------------------------------------------------------------


@contextmanager
def chromium(folder: Path) -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile and home under ``folder``, closed (and its processes gone) on exit.

    Fails the test, saying what to install, when it cannot start.
    """
    if pw is None:
        fail("the browser test needs the playwright package: run `make test` (it installs the test "
             "extras) or `pip install -e '.[test]'`")
    if not Path(CHROMIUM).is_file():
        fail(f"Chromium is not installed (no {CHROMIUM}). {INSTALL_HINT}")
    profile, home = folder / "profile", folder / "home"  # home: its crash reports and caches, not in ~
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache")}
    manager = None
    try:
        manager = pw.sync_playwright().start()
        context = manager.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, env=env,
            viewport={"width": 1400, "height": 1000}, timeout=TIMEOUTS["browser start"] * 1000)
    except BaseException as err:
        _stop_playwright(manager, folder)
        if isinstance(err, pw.Error):
            lines = "\n".join(_short(line, 160) for line in err.message.splitlines()[:30])  # its command lines are long
            fail(f"Chromium ({CHROMIUM}) could not start: {lines}\n{INSTALL_HINT}")
        raise
    try:
        yield context
    finally:
        try:
            context.close()
        finally:
            _stop_playwright(manager, folder)


def _stop_playwright(manager: Any, folder: Path) -> None:
    """Stop Playwright's driver (and with it the browser); kill any browser process still naming ``folder``."""
    if manager is not None:
        manager.stop()
    kill_processes(processes_mentioning(folder))


@contextmanager
def jupyterlab(home: Path) -> Iterator[Lab]:
    """A private JupyterLab (see ``tests/_lab.py``), stopped with its kernels on exit."""
    try:
        lab = start_lab(home, timeout=TIMEOUTS["JupyterLab start"])
    except RuntimeError as err:
        fail(f"step 'JupyterLab start' failed: {err}")
    try:
        yield lab
    finally:
        stop_lab(lab, timeout=TIMEOUTS["shutdown"])


# -- steps in the page ----------------------------------------------------------------------------------------


def open_notebook(page: Page, lab: Lab, name: str) -> None:
    """Open ``name`` in JupyterLab and wait until its cells are shown and its kernel is idle."""
    with step("notebook open") as ms:
        page.goto(lab.lab_url(name), timeout=ms)
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-CodeCell").first.wait_for(timeout=ms)
    # The kernel's state from the server: the toolbar's indicator reads "idle" before any kernel exists.
    wait_until(lambda: any(k["execution_state"] == "idle" for k in lab.api("kernels")), "notebook open",
               "the kernel did not become idle")


def run_all_cells(page: Page) -> None:
    """Run > Run All Cells, then wait until every code cell has run; fail at the first cell that did not."""
    with step("Run menu") as ms:
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click(timeout=ms)
        label = page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))
        page.locator(".lm-Menu-item").filter(has=label).click(timeout=ms)
    started = False  # the copy may hold old execution counts: the run has started once a "[*]" shows

    def finished() -> bool:
        nonlocal started
        prompts = cell_prompts(page)
        started = started or any("*" in p for p in prompts)
        stopped = started and not any("*" in p for p in prompts)
        if stopped and not all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            first = next(i for i, p in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", p))
            fail(f"Run All stopped after code cell {first} of {len(prompts)}: the cells after it did not run "
                 f"(did it fail?); tracebacks shown: {tracebacks(page) or 'none'}")
        return stopped

    wait_until(finished, "run all cells", lambda: f"code cell prompts: {' '.join(cell_prompts(page))}",
               seconds=TIMEOUTS["run all cells"], every=2)


def wait_for_explorer(page: Page) -> Locator:
    """The first explorer on the page, once it shows an image and says it is ready."""
    explorer = page.locator(".tpviz-explorer").first
    with step("explorer ready") as ms:
        explorer.wait_for(state="visible", timeout=ms)
        explorer.locator("img.tpviz-image").wait_for(state="visible", timeout=ms)
    wait_until(lambda: explorer.locator(".tpviz-status").inner_text().startswith("ready"), "explorer ready",
               lambda: f"explorer status: {explorer.locator('.tpviz-status').inner_text()!r}")
    return explorer


def move_slider_and_check_image(explorer: Locator, slider: str) -> None:
    """Move slider ``slider`` one step with the keyboard; the title must name the new value and the image change."""
    control = explorer.locator(f".tpviz-{slider}")
    handle, readout = control.locator(".noUi-handle"), control.locator(".widget-readout")
    image = explorer.locator("img.tpviz-image")
    before_value, before_src = readout.inner_text().strip(), image.get_attribute("src")
    before_data, before_shot = image_data(image), image.screenshot()
    at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    explorer.evaluate(TIME_TO_IMAGE)
    handle.press("ArrowLeft" if at_end else "ArrowRight")
    wait_until(lambda: readout.inner_text().strip() != before_value, "slider",
               f"the {slider} slider did not move from {before_value} with the arrow keys")
    value = readout.inner_text().strip()
    title = explorer.locator(".tpviz-title")
    wait_until(lambda: f"{SLIDERS[slider]}{value} " in title.inner_text() and image.get_attribute("src") != before_src,
               "slider", lambda: f"after moving {slider} {before_value} -> {value}, the title still reads "
                                 f"{title.inner_text()!r} (or the image was not replaced)")
    with step("slider") as ms:
        latency = explorer.page.wait_for_function("() => window.tpvizImageMs", timeout=ms).json_value()
    print(f"{slider} {before_value} -> {value}: key press to new image {latency:.0f} ms (a computed cell; aim < 100 ms)")
    after_data = image_data(image)
    assert after_data != before_data, f"moving {slider} {before_value} -> {value} left the image's data unchanged"
    assert image.screenshot() != before_shot, f"moving {slider} {before_value} -> {value} left the image on screen unchanged"
    with Image.open(io.BytesIO(after_data)) as shown:
        assert min(shown.size) >= 64, f"the explorer's image is only {shown.size} pixels"


# In the page: the time from the next key press to the next new src of the explorer's image, in window.tpvizImageMs.
TIME_TO_IMAGE = """root => {
    window.tpvizImageMs = undefined;
    let pressed = null;
    document.addEventListener('keydown', () => { pressed = pressed ?? performance.now(); }, {capture: true, once: true});
    const seen = new MutationObserver(changes => {
        if (pressed !== null && changes.some(c => c.target.matches?.('img.tpviz-image'))) {
            window.tpvizImageMs = performance.now() - pressed;
            seen.disconnect();
        }
    });
    seen.observe(root, {attributes: true, attributeFilter: ['src'], subtree: true});
}"""

# A new cell, run after the grid is complete: a new class starts a new grid in the background, and the kernel
# runs the rest of the cell at once (the class's first image cannot be ready within microseconds).
NEW_CLASS_CELL = (
    "live.target.value = live.target.options[-1][1]  # the last class: the notebook computed none of it\n"
    "print('kernel free while the grid fills:', live.current.target != live.target.value)"
)


def kernel_answers_while_the_grid_fills(page: Page, explorer: Locator) -> None:
    """Run ``NEW_CLASS_CELL`` in a new last cell: the kernel answers while the new grid fills; then it fills."""
    with step("new cell") as ms:
        page.locator(".jp-Notebook .jp-CodeCell").last.locator(".jp-InputArea-prompt").click(timeout=ms)
        page.keyboard.press("Escape")
        page.keyboard.press("b")  # insert a cell below, in command mode
        page.keyboard.press("Enter")  # edit it
        page.keyboard.insert_text(NEW_CLASS_CELL)  # no key events: no auto-closed brackets
        page.keyboard.press("Control+Enter")  # run it in place (Shift+Enter would add an empty, unrun cell)
        output = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="kernel free while").locator(
            ".jp-OutputArea-output")
        output.first.wait_for(timeout=ms)
    text = output.first.inner_text()
    assert "kernel free while the grid fills: True" in text, f"the new cell printed {text!r}"
    wait_until(lambda: explorer.locator(".tpviz-status").inner_text().startswith("ready"), "explorer ready",
               lambda: f"explorer status after the new class: {explorer.locator('.tpviz-status').inner_text()!r}")


def check_no_widget_errors(page: Page) -> None:
    """No widget failed to render, and every explorer's error area is empty."""
    text = page.locator("body").inner_text()
    for message in ("Error displaying widget", "model not found"):
        assert message not in text, f"the page shows {message!r}: {_around(text, message)}"
    for i, errors in enumerate(page.locator(".tpviz-errors").all()):
        assert not errors.inner_text().strip(), f"explorer {i + 1} shows an error: {errors.inner_text()[:2000]}"
    assert not tracebacks(page), f"a cell shows a traceback: {tracebacks(page)}"


def check_no_error_outputs(page: Page, notebook: Path) -> None:
    """Save the notebook from JupyterLab and check that no cell has an error output (stderr alone is fine)."""
    before = notebook.stat().st_mtime_ns
    with step("save") as ms:
        page.locator('.jp-NotebookPanel-toolbar [data-command="docmanager:save"]').first.click(timeout=ms)
    wait_until(lambda: notebook.stat().st_mtime_ns != before and _loads(notebook) is not None, "save",
               f"JupyterLab did not save {notebook.name}")
    cells = [c for c in _loads(notebook)["cells"] if c["cell_type"] == "code"]
    errors = [(i + 1, o.get("ename"), o.get("evalue")) for i, c in enumerate(cells) for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"code cells with an error output (cell, error, message): {errors}"
    assert all(c.get("execution_count") for c in cells), "some code cells were not run"


# -- page queries ---------------------------------------------------------------------------------------------


def cell_prompts(page: Page) -> list[str]:
    """Every code cell's input prompt: "[ ]:", "[*]:" (queued or running) or "[n]:"."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell'),
        c => (c.querySelector('.jp-InputArea-prompt')?.textContent || '').trim())""")


def tracebacks(page: Page) -> list[str]:
    """The outputs that show a Python traceback, shortened to their last lines."""
    texts = page.evaluate("""() => Array.from(document.querySelectorAll('.jp-Notebook .jp-OutputArea-output'),
        o => o.innerText).filter(t => t.includes('Traceback (most recent call last)'))""")
    return [_short("\n".join(t.strip().splitlines()[-6:]), 800) for t in texts]


def image_data(image: Locator) -> bytes:
    """The bytes behind an ``<img>`` (ipywidgets shows images as blob: URLs)."""
    encoded = image.evaluate("""async img => {
        const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
        let s = ''; for (const b of bytes) s += String.fromCharCode(b); return btoa(s); }""")
    return base64.b64decode(encoded)


# -- waiting, steps, artifacts --------------------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    """Fail the test with ``message`` alone: no traceback, no chained exception."""
    raise pytest.fail.Exception(message, pytrace=False) from None


@contextmanager
def step(name: str) -> Iterator[float]:
    """A named step; yields its limit in ms (for Playwright), and a Playwright timeout in it fails naming the step."""
    seconds = TIMEOUTS[name]
    try:
        yield seconds * 1000
    except pw.TimeoutError as err:
        fail(f"step '{name}' timed out after {seconds:g} s: {_short(err.message, 600)}")


def wait_until(done: Callable[[], bool], name: str, what: str | Callable[[], str], *, seconds: float | None = None,
               every: float = 0.25) -> None:
    """Poll ``done`` until it returns True; after ``seconds`` (default: step ``name``'s) fail with ``what``."""
    seconds = TIMEOUTS[name] if seconds is None else seconds
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            detail = what() if callable(what) else what
            fail(f"step '{name}' timed out after {seconds:g} s: {detail}")
        time.sleep(every)


def record_console(page: Page) -> list[str]:
    """A list that collects the page's console messages and uncaught errors as they come."""
    lines: list[str] = []
    page.on("console", lambda m: lines.append(f"console.{m.type}: {m.text}"))
    page.on("pageerror", lambda e: lines.append(f"pageerror: {e}"))
    return lines


@contextmanager
def artifacts_on_failure(page: Page, lab: Lab, console: list[str]) -> Iterator[None]:
    """On failure, save screenshots (page, explorer), the page's HTML, the console and the server log."""
    try:
        yield
    except (Exception, pytest.fail.Exception) as err:
        saved = save_artifacts(page, lab, console)
        note = f"browser test artifacts ({', '.join(saved)}) in {ARTIFACTS}"
        if isinstance(err, pytest.fail.Exception):
            fail(f"{err.msg}\n{note}")
        if hasattr(err, "add_note"):  # Python 3.11+
            err.add_note(note)
        else:
            print(note)
        raise


def save_artifacts(page: Page, lab: Lab, console: list[str]) -> list[str]:
    """Write what can be saved into ``ARTIFACTS``; return the names written (each one is tried on its own)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    writers: dict[str, Callable[[Path], Any]] = {
        "page.png": lambda p: page.screenshot(path=p, full_page=True, timeout=10_000),
        "explorer.png": lambda p: _screenshot(page.locator(".tpviz-explorer"), p),
        "page.html": lambda p: p.write_text(page.content()),
        "console.log": lambda p: p.write_text("\n".join(console)),
        "jupyterlab.log": lambda p: shutil.copy(lab.log, p),
    }
    saved = []
    for name, write in writers.items():
        try:
            write(ARTIFACTS / name)
            saved.append(name)
        except Exception as err:  # noqa: BLE001 - one missing artifact must not hide the test's failure
            print(f"could not save {name}: {_short(str(err), 200)}")
    return saved


def _screenshot(located: Locator, path: Path) -> None:
    if not located.count():
        raise LookupError("no explorer on the page")
    located.first.screenshot(path=path, timeout=5_000)


def _loads(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _around(text: str, needle: str, width: int = 300) -> str:
    at = text.find(needle)
    return repr(text[max(0, at - width): at + width])
