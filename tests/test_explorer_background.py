"""The explorer in its default, background mode: the setting on screen first, the rest of the grid on a worker
thread while the caller (the kernel) stays free; sliders answer meanwhile; a new class goes first; errors,
close and interrupt. Driven from Python; no timings (the browser test times a key press to a new image)."""

from __future__ import annotations

import contextlib
import signal
import threading

import numpy as np
import pytest
import torch

import tpviz
import tpviz.widgets.live as widgets
from tpviz.widgets import background, explorer, status

from .conftest import TinyConv
from .test_invariants import _assert_same, _snapshot
from .test_widgets import KNOBS, Broken, errors, make, shown

WAIT = 60  # seconds: a bound against a hang, never a timing


@pytest.fixture
def blocks(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Record each block the worker computes ((class, lrs, l2s), in the order they finish); ``gate`` holds
    every block after the first until it is set."""
    done: list[tuple[int, list, list]] = []
    gate, started = threading.Event(), threading.Event()
    real = widgets.sweep_grid

    def gated(model, target, settings, *, lrs, l2s, **kw):
        if done:
            started.set()
            assert gate.wait(WAIT), "the test never opened the gate"
        grid = real(model, target, settings, lrs=lrs, l2s=l2s, **kw)
        done.append((target, list(lrs), list(l2s)))
        return grid

    monkeypatch.setattr(widgets, "sweep_grid", gated)
    return {"done": done, "gate": gate, "started": started}


def until(condition, what: str) -> None:
    """Wait (bounded) for something the worker thread does."""
    for _ in range(WAIT * 100):
        if condition():
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_sliders_setting_comes_first_then_the_rest_fills_in(blocks):
    model = TinyConv()
    ex = make(model, background=True)
    assert ex.refresh() is None, "background: refresh returns at once"
    until(lambda: ex.current is not None, "the first image")
    assert blocks["done"] == [(1, [3], [1e-4])] and ex.current.lr == 3 and ex.current.l2_reg == 1e-4
    alone = tpviz.sweep(model, 1, lr=3, l2_reg=1e-4, iterations=[2, 4], **KNOBS)  # a batch of one, as computed
    assert np.array_equal(shown(ex), tpviz.deprocess(alone.image(lr=3, l2_reg=1e-4, iterations=4))[0])
    assert not ex.status.value.startswith("ready") and "in the background" in ex.status.value
    blocks["gate"].set()
    assert ex.wait(WAIT) is ex.current
    assert blocks["done"] == [(1, [3], [1e-4]), (1, [3], [0.1]), (1, [1], [1e-4, 0.1])], "no setting twice"
    assert ex.status.value.startswith("ready") and ex.cached == [("TinyConv", "goldfish", "noise")]
    ex.close()


def test_the_kernel_is_free_and_sliders_answer_while_the_grid_fills(blocks):
    ex = make(background=True)
    ex.refresh()
    until(lambda: blocks["started"].is_set(), "the second block to start")  # the worker is now held at the gate
    first = ex.image.value
    ex.iterations.value = 2  # a computed cell (a snapshot of the first block): answered in the call
    assert ex.current.iterations == 2 and ex.image.value != first and "2 iterations" in ex.title.value
    ex.lr.value = 1  # not computed yet: said so, shown when ready
    assert "not computed yet" in ex.title.value and ex.current.lr == 3
    blocks["gate"].set()
    until(lambda: ex.current.lr == 1, "the waiting cell to appear")
    assert "lr=1 · L2=0.0001 · 2 iterations" in ex.title.value and "not computed" not in ex.title.value
    ex.wait(WAIT)
    assert errors(ex) == ""
    ex.close()


def test_a_new_class_goes_first(blocks):
    ex = make(background=True)
    ex.refresh()
    until(lambda: blocks["started"].is_set(), "the second block to start")
    ex.target.value = 2  # cancels goldfish's running block: it goes back to the end of the line
    blocks["gate"].set()
    ex.wait(WAIT)
    classes = [c for c, _, _ in blocks["done"]]
    assert classes == [1, 2, 2, 2, 1, 1], blocks["done"]
    assert ex.current.target == 2 and "great white shark" in ex.title.value
    assert ex.status.value.startswith("ready"), "the other class's last block must not leave 'computing' behind"
    assert sorted(ex.cached) == [("TinyConv", "goldfish", "noise"), ("TinyConv", "great white shark", "noise")]
    ex.close()


def test_an_error_on_the_worker_is_shown_in_the_widget():
    ex = make({"broken": Broken()}, background=True)
    ex.refresh()
    ex.wait(WAIT)
    assert "ZeroDivisionError: boom" in errors(ex) and "Traceback" in errors(ex)
    assert ex.progress.bar_style == "danger" and ex.status.value.startswith("error") and ex.cached == []
    ex.close()


def test_close_stops_the_worker(blocks):
    ex = make(background=True)
    ex.refresh()
    until(lambda: blocks["started"].is_set(), "the second block to start")
    blocks["gate"].set()
    ex.close()  # the running block stops at its next iteration; nothing more runs
    assert not ex._worker.alive and len(blocks["done"]) <= 2


def test_a_kernel_interrupt_stops_the_work_and_a_control_resumes_it(blocks):
    ex = make(background=True)
    ex.refresh()
    until(lambda: blocks["started"].is_set(), "the second block to start")
    assert signal.getsignal(signal.SIGINT) is background._on_sigint
    previous = background._installed[1]  # the handler before ours: Python's, or SIG_IGN in a background job
    # outside a kernel the previous handler still runs: Python's raises KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt) if callable(previous) else contextlib.nullcontext():
        background._on_sigint(signal.SIGINT, None)
    blocks["gate"].set()
    ex.wait(WAIT)
    assert "interrupted" in errors(ex) and len(blocks["done"]) == 1 and ex.cached == []
    ex.lr.value = 1
    ex.wait(WAIT)
    assert ex.cached == [("TinyConv", "goldfish", "noise")] and ex.current.lr == 1 and errors(ex) == ""
    ex.close()


def test_the_background_explorer_leaves_the_model_as_found():
    model = TinyConv().eval()
    model.head.weight.requires_grad_(False)
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    before = _snapshot(model, x)
    ex = make(model, starts={"noise": None, "x": x}, background=True)
    ex.refresh()
    ex.start.value = "x"
    ex.wait(WAIT)
    ex.close()
    _assert_same(before, _snapshot(model, x))


def test_show_from_code_waits_for_its_setting():
    """What notebook 03 does: ``live.show(lr=...)`` returns the ``View``, computed on the worker thread."""
    ex = make(background=True)
    ex.refresh()
    off = ex.show(lr=2.0)  # off the grid
    assert off is not None and off is ex.current and not off.on_grid and off.lr == 2.0
    on = ex.show(target=2, lr=1, iterations=2)  # a grid setting of a grid not computed yet
    assert on is not None and on.on_grid and (on.target, on.lr, on.iterations) == (2, 1, 2)
    ex.close()


class FakeEvents:
    """IPython's ``shell.events``: what the worker registers for pre_run_cell and post_run_cell."""

    def __init__(self) -> None:
        self.hooks: dict[str, list] = {}

    def register(self, event: str, hook) -> None:
        self.hooks.setdefault(event, []).append(hook)

    def unregister(self, event: str, hook) -> None:
        self.hooks[event].remove(hook)

    def trigger(self, event: str) -> None:
        for hook in self.hooks.get(event, []):
            hook(None)


def test_a_running_cell_holds_the_work_and_a_cell_that_waits_for_it_lets_it_go_on(blocks):
    ex = make(background=True)
    ex.refresh()
    until(lambda: blocks["started"].is_set(), "the second block to start")
    ex._worker.pause(timeout=0)  # what a cell's start does (pre_run_cell), without waiting for the hold
    blocks["gate"].set()
    until(lambda: ex._worker._parked, "the worker to be held after its iteration")
    done = len(blocks["done"])
    assert ex.show(iterations=2, lr=1) is not None, "a cell that waits for the explorer lets it go on"
    assert len(blocks["done"]) > done
    ex._worker.resume()  # the cell ended (post_run_cell)
    ex.wait(WAIT)
    assert ex.status.value.startswith("ready")
    ex.close()


def test_in_ipython_cells_pause_and_resume_the_work_until_close(monkeypatch):
    import IPython

    shell = type("Shell", (), {"events": FakeEvents()})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    ex = make(background=True)
    ex.refresh()  # starts the worker: it hooks the cells
    ex.wait(WAIT)
    shell.events.trigger("pre_run_cell")
    assert ex._worker._paused
    shell.events.trigger("post_run_cell")
    assert not ex._worker._paused
    ex.close()
    assert shell.events.hooks == {"pre_run_cell": [], "post_run_cell": []}, "close() unhooks the cells"


def test_displaying_shows_the_setting_on_screen_at_once_then_the_rest_fills_in(blocks, capsys):
    """On first display the setting on screen is computed in the call (the worker has not started), then the
    worker fills the rest."""
    ex = make(background=True)
    ex._ipython_display_()
    assert ex.current is not None and blocks["done"] == [(1, [3], [1e-4])]
    blocks["gate"].set()
    ex.wait(WAIT)
    assert len(blocks["done"]) == 3 and ex.status.value.startswith("ready")
    ex.close()


def test_the_worker_runs_torch_on_one_openmp_thread_and_leaves_the_main_thread_s_alone():
    """A second OpenMP pool (the worker's) makes libgomp stop spinning, which slowed the main thread's torch
    work ~1.9x (tpviz/algorithms/openmp.py): the worker's parallel regions use one thread, the main's keep theirs."""
    import threading

    from tpviz.algorithms.openmp import one_openmp_thread
    from tpviz.widgets.background import Worker

    main_threads = torch.get_num_threads()
    seen: list[int] = []
    jobs = [lambda: seen.append(torch.get_num_threads())]
    worker = Worker(lambda: jobs.pop() if jobs else None, on_error=lambda err: seen.append(-1), on_interrupt=lambda: None)
    worker.wake()
    worker.wait(30)
    worker.stop()
    if main_threads > 1:
        assert seen == [1], seen
    assert torch.get_num_threads() == main_threads
    other: list[int] = []
    thread = threading.Thread(target=lambda: other.append(one_openmp_thread() and torch.get_num_threads()))
    thread.start()
    thread.join()
    assert other in ([1], [False]), other


def test_the_first_image_is_shown_while_it_grows(capsys):
    """Displaying computes the setting on screen in the cell; every GROWING_EVERY iterations its image so far is
    shown, with a title saying how far it is, then the finished image with the usual title."""
    model, total = TinyConv(), 2 * status.GROWING_EVERY + 5
    ex = explorer(model, classes=[1], lr=[3, 5], l2_reg=[1e-4], iterations=[1, total], **KNOBS)
    seen: list[tuple[str, bytes]] = []
    ex.title.observe(lambda change: seen.append((change["new"], ex.image.value)), names="value")
    try:
        ex._ipython_display_()
        assert ex.current is not None and ex.current.iterations == total
        growing = [(title, image) for title, image in seen if "growing:" in title]
        counts = [f"growing: {k * status.GROWING_EVERY} of {total} iterations" for k in (1, 2)]
        assert [c for c in counts if any(c in title for title, _ in growing)] == counts, [t for t, _ in seen]
        assert all("lr=5" in title and "L2=0.0001" in title for title, _ in growing)  # the TP's lr, on screen
        assert "growing" not in ex.title.value and "predicted:" in ex.title.value
        assert len({image for _, image in growing} | {ex.image.value}) == 3  # two images so far, then the last
        alone = tpviz.sweep(model, 1, lr=5, l2_reg=1e-4, iterations=[total], **KNOBS)
        assert ex.image.value == widgets.png(alone.images[0, 0, 0][None], size=ex._display_size)
    finally:
        ex.close()
    capsys.readouterr()


def test_no_growing_images_in_the_background_or_for_a_whole_grid(capsys):
    """Only the first image, computed in the displaying cell, is shown growing: a grid computed in one go
    (background=False) or on the worker thread is shown when done."""
    total = status.GROWING_EVERY + 5
    for in_background in (False, True):
        ex = explorer(TinyConv(), classes=[1, 2], lr=[3, 5], l2_reg=[1e-4], iterations=[1, total],
                      background=in_background, **KNOBS)
        titles: list[str] = []
        ex.title.observe(lambda change, titles=titles: titles.append(change["new"]), names="value")
        try:
            ex._ipython_display_()
            if in_background:
                ex.wait(WAIT)
                titles.clear()
                ex.show(target=2)  # a new class: computed on the worker
            assert ex.current is not None and ex.current.target == (2 if in_background else 1)
            assert not any("growing" in t for t in titles), titles
        finally:
            ex.close()
    capsys.readouterr()


class FailsLater(TinyConv):
    """Fails after ``after`` forward passes: a bug that shows up partway through the first image."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after, self.calls = after, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls > self.after:
            raise ZeroDivisionError("boom")
        return super().forward(x)


def test_a_failure_while_the_first_image_grows_says_the_image_is_where_it_stopped(capsys):
    total = 2 * status.GROWING_EVERY
    ex = explorer(FailsLater(after=status.GROWING_EVERY + 5), classes=[1], lr=[3, 5], l2_reg=[1e-4],
                  iterations=[1, total], **KNOBS)
    try:
        ex._ipython_display_()
        assert ex.current is None and ex.image.value  # the image so far stays on screen
        assert "ZeroDivisionError: boom" in "".join(o.get("text", "") for o in ex.errors.outputs)
        assert "could not compute this setting" in ex.title.value and "where it stopped growing" in ex.title.value
    finally:
        ex.close()
    capsys.readouterr()
