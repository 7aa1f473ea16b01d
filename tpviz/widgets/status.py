"""The explorer's progress bar, status line, title and error area: what it says while it computes and when
something fails (a base class of ``Explorer``; the worker's jobs report through it too)."""

from __future__ import annotations

import traceback
from collections.abc import Callable

import ipywidgets as w
import torch

from ..errors import TpvizError
from ..imagenet.classes import class_name
from ..plots.style import RANDOM_COLOR
from .background import Cancelled, Worker
from .cells import Key
from .view import View, growing_html, png

GROWING_EVERY = 40  # iterations between two images of the first setting while it grows: 4 PNGs, encoded
# on the main thread, in the TP's 200 iterations


class StatusArea:
    """``progress`` (bar), ``status`` (line), ``title`` (HTML) and ``errors`` (output), and how they are set."""

    progress: w.IntProgress
    status: w.Label
    title: w.HTML
    errors: w.Output
    image: w.Image
    lr: w.SelectionSlider
    l2_reg: w.SelectionSlider
    iterations: w.SelectionSlider
    _background: bool
    _worker: Worker
    _display_size: int
    _key: Callable[[], Key]

    def _busy(self, text: str) -> None:
        self.status.value = text
        self.progress.bar_style = "info"
        self.progress.value = 0

    def _growing(self, key: Key, *, lr: float, l2_reg: float, total: int, random: bool
                 ) -> Callable[[int, torch.Tensor], None]:
        """For the setting on screen computed in the displaying cell (the first image): a step callback that
        shows its image every ``GROWING_EVERY`` iterations while it grows, so the explorer answers before the
        TP's 200 iterations are done; the finished image replaces it."""

        def show(done: int, images: torch.Tensor) -> None:
            if done % GROWING_EVERY == 0 and done < total and key == self._key():
                self.image.value = png(images[:1], size=self._display_size)
                self.title.value = growing_html(key, lr=lr, l2_reg=l2_reg, done=done, total=total, random=random)
        return show

    def _waiting(self, key: Key) -> None:
        """The setting on the sliders is not computed yet: say so (the image stays the previous one)."""
        self.title.value = (f"<b>{class_name(key[1])}</b> · {key[0]} · from {key[2]} · lr={self.lr.value:g} · "
                            f"L2={self.l2_reg.value:g} · {self.iterations.value} iterations: <b>not computed yet"
                            "</b>, shown as soon as it is (the image below is the previous one)")

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
        below = "where it stopped growing" if "growing:" in self.title.value else "the previous one"
        self.title.value = (f'<span style="color:{RANDOM_COLOR}"><b>could not compute this setting</b>: '
                            f"the image below is {below}</span>")
        self.errors.append_stderr(text)
