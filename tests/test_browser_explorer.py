"""End to end in JupyterLab under headless Chromium: the explorer's off-grid badge, filmstrip, compare toggle and save
button, on two tiny models (no weights needed: the grid takes milliseconds, the browser and server the time).

Reuses ``tests/test_browser.py``'s browser, server, step and artifact helpers; artifacts on failure go to
``test-artifacts/browser-explorer/``. Needs Chromium, as that test does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from . import test_browser as tb
from ._lab import process_group_alive, wait_gone

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = '''import torch
from torch import nn
from tpviz.widgets import explorer

def tiny(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(6, 7)).eval()

live = explorer({"a": tiny(1), "b": tiny(2)}, classes=[1, 2], lr=[1, 3], l2_reg=[1e-4, 0.1], iterations=[2, 4],
                size=16, max_jitter=2)
live'''
CELLS = [SETUP, "live.wait(60)\nlive.show(lr=2)  # off the grid"]


def notebook(cells: list[str]) -> dict:
    code = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
             "source": source.splitlines(keepends=True)} for source in cells]
    return {"cells": code, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                       "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def test_filmstrip_compare_and_save_in_jupyterlab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.environ.get("TPVIZ_SKIP_BROWSER") == "1":
        pytest.skip("TPVIZ_SKIP_BROWSER=1: the browser test of the explorer was skipped on request")
    monkeypatch.setattr(tb, "ARTIFACTS", tb.ROOT / "test-artifacts" / "browser-explorer")
    shutil.rmtree(tb.ARTIFACTS, ignore_errors=True)
    with tb.chromium(tmp_path / "chromium") as browser, tb.jupyterlab(tmp_path / "lab") as lab:
        server_group = lab.process.pid
        (lab.root / "explorer.ipynb").write_text(json.dumps(notebook(CELLS), indent=1))
        page = browser.pages[0] if browser.pages else browser.new_page()
        console = tb.record_console(page)
        with tb.artifacts_on_failure(page, lab, console):
            tb.open_notebook(page, lab, "explorer.ipynb")
            tb.run_all_cells(page)
            explorer = tb.wait_for_explorer(page)
            back_to_the_grid(explorer)
            filmstrip_follows_the_slider(explorer)
            compare_shows_two_images(explorer)
            save_writes_a_file(explorer, lab.root)
            tb.check_no_widget_errors(page)
    left = wait_gone(tmp_path, timeout=tb.TIMEOUTS["shutdown"])
    assert not left, f"processes left behind: {[(p.pid, ' '.join(p.cmdline())[:120]) for p in left]}"
    assert not process_group_alive(server_group), f"JupyterLab's process group {server_group} is still alive"


def back_to_the_grid(explorer) -> None:
    """``live.show(lr=2)`` left the picture off the grid: the badge says so; "back to the grid" (keyboard) returns."""
    badge, title = explorer.locator(".tpviz-off-grid"), explorer.locator(".tpviz-title")
    tb.wait_until(lambda: "off grid: lr=2" in badge.inner_text() and "lr=2 " in title.inner_text(), "slider",
                  lambda: f"after live.show(lr=2): badge {badge.inner_text()!r}, title {title.inner_text()!r}")
    button = explorer.locator("button.tpviz-back")
    button.focus()
    button.press("Enter")
    tb.wait_until(lambda: not badge.inner_text().strip() and "lr=2 " not in title.inner_text(), "slider",
                  lambda: f"after 'back to the grid': badge {badge.inner_text()!r}, title {title.inner_text()!r}")


def outlined(explorer) -> list[str]:
    """The filmstrip's outlined thumbnails, by their button's text."""
    # all_inner_texts reads every match in one call: the filmstrip re-renders while the grid fills, and an element
    # found first and read later may be gone (inner_text would then wait for it until its timeout)
    return [t.strip() for t in explorer.locator(".tpviz-thumb.tpviz-current .tpviz-thumb-button").all_inner_texts()]


def filmstrip_follows_the_slider(explorer) -> None:
    """Moving the lr slider moves the outline; moving L2 turns the row; a thumbnail's button (Enter) selects it."""
    strip = explorer.locator(".tpviz-filmstrip")
    tb.wait_until(lambda: len(outlined(explorer)) == 1 and outlined(explorer)[0].startswith("lr="), "slider",
                  lambda: f"back on the grid, the filmstrip outlines {outlined(explorer)}")
    tb.move_slider_and_check_image(explorer, "lr")
    value = explorer.locator(".tpviz-lr .widget-readout").inner_text().strip()
    tb.wait_until(lambda: outlined(explorer) == [f"lr={value}"], "slider",
                  lambda: f"after moving lr to {value}, the filmstrip outlines {outlined(explorer)}")
    tb.move_slider_and_check_image(explorer, "l2")
    tb.wait_until(lambda: "along the L2 weight" in strip.inner_text() and len(outlined(explorer)) == 1
                  and outlined(explorer)[0].startswith("L2="), "slider",
                  lambda: f"after moving L2, the filmstrip reads {strip.inner_text()!r}")
    shown = [t.strip() for t in strip.locator(".tpviz-thumb-button").all_inner_texts()]
    chosen = next(t for t in shown if t not in outlined(explorer))
    other = strip.locator(".tpviz-thumb-button").filter(has_text=re.compile(f"^\\s*{re.escape(chosen)}\\s*$"))
    other.focus()
    other.press("Enter")
    tb.wait_until(lambda: outlined(explorer) == [chosen] and f"{chosen} " in explorer.locator(".tpviz-title").inner_text(),
                  "slider", lambda: f"after pressing {chosen}: outlined {outlined(explorer)}")


def compare_shows_two_images(explorer) -> None:
    explorer.locator(".tpviz-compare").click()
    second, title = explorer.locator("img.tpviz-compare-image"), explorer.locator(".tpviz-compare-title")
    with tb.step("slider") as ms:
        second.wait_for(state="visible", timeout=ms)
    tb.wait_until(lambda: "· b ·" in title.inner_text() and "predicted" in title.inner_text(), "slider",
                  lambda: f"the compare panel reads {title.inner_text()!r}")
    first = explorer.locator("img.tpviz-image")
    assert first.is_visible() and second.is_visible()
    assert tb.image_data(first) != tb.image_data(second), "two models, one picture"


def save_writes_a_file(explorer, root: Path) -> None:
    explorer.locator(".tpviz-save-folder input").fill("saved figures")
    explorer.locator(".tpviz-save-folder input").press("Tab")
    button = explorer.locator("button.tpviz-save")
    button.focus()
    button.press("Enter")
    folder = root / "saved figures"
    tb.wait_until(lambda: folder.is_dir() and any(folder.glob("*.png")), "save",
                  lambda: f"nothing saved; the save area reads {explorer.locator('.tpviz-save-output').inner_text()!r}")
    path = next(folder.glob("*.png"))
    with Image.open(path) as saved:
        params = json.loads(saved.text["Parameters"])
    assert params["model"] == "a" and params["compare"]["model"] == "b", params
    out = explorer.locator(".tpviz-save-output")
    tb.wait_until(lambda: re.search(r"tpviz\.class_visualization\(model, ", out.inner_text()) is not None, "save",
                  lambda: f"the save area reads {out.inner_text()!r}")
