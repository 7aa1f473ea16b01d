"""The explorer's progress bar, status line, title and error area: what it says while it computes and when
something fails (a base class of ``Explorer``; the worker's jobs report through it too)."""

from __future__ import annotations

import traceback
from collections.abc import Callable

import ipywidgets as w

from ..errors import TpvizError
from ..plots.style import RANDOM_COLOR
from .background import Cancelled, Worker
from .view import View


class StatusArea:
    """``progress`` (bar), ``status`` (line), ``title`` (HTML) and ``errors`` (output), and how they are set."""

    progress: w.IntProgress
    status: w.Label
    title: w.HTML
    errors: w.Output
    _background: bool
    _worker: Worker

    def _busy(self, text: str) -> None:
        self.status.value = text
        self.progress.bar_style = "info"
        self.progress.value = 0

    def _tick(self, done: int, total: int) -> None:
        if self._background:
            self._worker.check()  # a cancelled job stops here, after an iteration
        self.progress.max = max(1, total)
        self.progress.value = done

    def _guard(self, action: Callable[[], View | None]) -> View | None:
        """Run ``action``; show any error (or an interrupt) in the widget instead of raising it."""
        self.errors.outputs = ()
        try:
            return action()
        except Cancelled:  # the worker's: it takes the next job
            raise
        except BaseException as err:  # a widget callback has nowhere to raise to
            if not isinstance(err, (Exception, KeyboardInterrupt)):
                raise
            self._report_error(err)
        return None

    def _report_error(self, err: BaseException) -> None:
        """Show ``err``: an interrupt or a tpviz error as one line, anything else with its traceback."""
        if isinstance(err, KeyboardInterrupt):
            self._report("interrupted: nothing was cached for this setting; move a control to try again\n")
        elif isinstance(err, TpvizError):
            self._report(f"{type(err).__name__}: {err}\n")
        else:
            self._report("".join(traceback.format_exception(type(err), err, err.__traceback__)))

    def _report(self, text: str) -> None:
        self.progress.bar_style = "danger"
        self.status.value = "error: see the message below"
        self.title.value = (f'<span style="color:{RANDOM_COLOR}"><b>could not compute this setting</b>: '
                            "the image below is the previous one</span>")
        self.errors.append_stderr(text)
