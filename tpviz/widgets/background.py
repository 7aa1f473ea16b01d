"""The explorer's worker: one daemon thread that runs the explorer's jobs one at a time, so that the kernel stays
free (torch releases the GIL while it computes) and never two grids compute at once. No ipywidgets.

A job checks ``Worker.check()`` (in its progress callback) and stops with ``Cancelled`` when cancelled. In IPython
the work is held while a cell runs (``pause``, at the end of the current iteration): the cell's own torch work
runs alone, on both cores, and never meets the worker's (a ``torch.fx`` trace patches ``Module.__call__`` for every
thread); a cell that waits for the explorer (``show``, ``wait``) lets it go on. A kernel
interrupt while the kernel is idle (SIGINT, which ipykernel otherwise ignores then) stops every worker's job
and plan; one during a running cell goes to that cell as usual (``Explorer.wait`` stops its worker then).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import weakref
from collections.abc import Callable
from contextlib import suppress
from types import FrameType
from typing import Any

from ..algorithms.openmp import one_openmp_thread

Job = Callable[[], None]

_workers: weakref.WeakSet[Worker] = weakref.WeakSet()
_installed: list[Any] = []  # the handler this module installed, once


class Cancelled(Exception):
    """Raised by ``Worker.check()`` inside a job that was cancelled, interrupted or stopped."""


class Worker:
    """Runs ``next_job()`` until it returns None, then sleeps until ``wake()``. ``lock`` guards the caller's plan too.

    ``on_error(err)``: a job raised (called on the worker thread); ``on_interrupt()``: a kernel interrupt
    stopped the job (called on the worker thread, before it waits for the next ``wake``).
    """

    def __init__(self, next_job: Callable[[], Job | None], *, on_error: Callable[[BaseException], None],
                 on_interrupt: Callable[[], None]) -> None:
        self.lock = threading.RLock()
        self._cond = threading.Condition(self.lock)
        self._next_job, self._on_error, self._on_interrupt = next_job, on_error, on_interrupt
        self._cancel = threading.Event()
        self._interrupted = False
        self._stopped = False
        self._busy = False
        self._paused, self._parked, self._waiters = False, False, 0
        self._hooks: list[tuple[Any, str, Callable[..., None]]] = []
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Start the thread (the first time) and let it take the next job."""
        with self._cond:
            if self._stopped:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tpviz-explorer", daemon=True)
                _workers.add(self)
                _install_interrupt_handler()
                self._hook_cells()
                self._thread.start()
            self._busy = True  # until the worker finds no job: wait() must not return before it looked
            self._cond.notify_all()

    def cancel(self) -> None:
        """Stop the running job at its next ``check()`` (the worker then takes the next one)."""
        self._cancel.set()

    def check(self) -> None:
        """Raise ``Cancelled`` in a job that was cancelled, wait here while paused; call it after each iteration."""
        if self._paused:
            with self._cond:
                self._park()
        if self._cancel.is_set():
            raise Cancelled

    def pause(self, timeout: float = 30) -> None:
        """Hold the work at its next ``check()``; return once it is held or idle (``timeout`` s at most)."""
        if threading.current_thread() is self._thread:
            return
        with self._cond:
            self._paused = True
            self._cond.wait_for(lambda: self._parked or not self._busy or self._stopped, timeout)

    def resume(self) -> None:
        """Let held work go on."""
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def _park(self) -> None:
        """Wait (holding ``_cond``) while paused, unless someone waits for the work, or it is cancelled."""
        held = lambda: self._paused and not self._waiters and not self._stopped and not self._cancel.is_set()  # noqa: E731
        if held():
            self._parked = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: not held())
            self._parked = False

    def interrupt(self) -> None:
        """What a kernel interrupt does: stop the running job; ``on_interrupt`` clears the plan. Signal-safe."""
        self._interrupted = True
        self._cancel.set()

    def stop(self, timeout: float | None = 10) -> None:
        """End the thread: the running job stops at its next ``check()``; nothing more runs."""
        with self._cond:
            self._stopped = True
            self._cancel.set()
            self._cond.notify_all()
        for shell, event, hook in self._hooks:
            with suppress(ValueError):
                shell.events.unregister(event, hook)
        self._hooks = []
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None, *, until: Callable[[], bool] | None = None) -> bool:
        """Block until no job runs and none is left, or ``until()`` holds after a job (True), or ``timeout``
        seconds passed (False)."""
        with self._cond:
            self._waiters += 1  # held work goes on while someone waits for it
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: self._stopped or not self._busy or (until is not None and until()),
                                           timeout)
            finally:
                self._waiters -= 1

    def _run(self) -> None:
        one_openmp_thread()  # a second pool of OpenMP threads would slow the kernel's own torch work (openmp.py)
        while True:
            with self._cond:
                if self._interrupted:
                    self._interrupted = False
                    self._on_interrupt()
                self._park()  # no new job while a cell runs
                job = None if self._stopped else self._next_job()
                self._busy = job is not None
                self._cancel.clear()
                if job is None:
                    self._cond.notify_all()
                    if self._stopped:
                        return
                    self._cond.wait()
                    continue
            try:
                job()
            except Cancelled:
                pass
            except BaseException as err:  # noqa: BLE001 - shown in the widget; the thread lives on
                self._on_error(err)
            with self._cond:
                self._cond.notify_all()  # for wait(until=...)


    def _hook_cells(self) -> None:
        """In IPython, ``pause`` before each cell and ``resume`` after it."""
        shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
        if shell is None:
            return
        self._hooks = [(shell, "pre_run_cell", lambda *_: self.pause()),
                       (shell, "post_run_cell", lambda *_: self.resume())]
        for _, event, hook in self._hooks:
            shell.events.register(event, hook)


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    for worker in list(_workers):
        worker.interrupt()
    previous = _installed[1] if len(_installed) > 1 else None
    if callable(previous):  # outside a kernel: Ctrl-C still raises KeyboardInterrupt
        previous(signum, frame)


def _install_interrupt_handler() -> None:
    """Chain ``_on_sigint`` in front of the SIGINT handler, once, from the main thread. While a cell (or a
    widget message) runs, ipykernel swaps in its own handler and restores the previous one after, so inside a
    kernel the handler goes in from the event loop once the kernel is idle."""
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no running loop (a script, a test): now
        _chain()
        return

    def when_idle() -> None:
        if _installed:
            return
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # a cell runs: try again after it
            loop.call_later(0.5, when_idle)
        else:
            _chain()

    loop.call_later(0.1, when_idle)


def _chain() -> None:
    _installed.extend([_on_sigint, signal.signal(signal.SIGINT, _on_sigint)])
