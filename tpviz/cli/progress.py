"""Text progress bars for long command-line jobs: one bar per stage, redrawn in place on a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Update = Callable[[int, int], None]
WIDTH = 24


class StageProgress:
    """``with bar.stage("Figure 4"): ...`` prints the stage, its bar (``update(done, total)``) and its time.

    On a terminal the bar is redrawn in place; elsewhere (CI logs, files) it prints a line at each quarter.
    """

    def __init__(self, stages: int, *, stream: TextIO | None = None) -> None:
        self.stages = stages
        self.count = 0
        self.stream = sys.stderr if stream is None else stream
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[Update]:
        self.count += 1
        tty = self.stream.isatty()
        start = time.perf_counter()
        printed = -1  # the last quarter printed (off a terminal); >= 0 once a bar is drawn
        self._write(f"[{self.count}/{self.stages}] {name}\n")

        def update(done: int, total: int) -> None:
            nonlocal printed
            if total <= 0:
                return
            line = _bar(done, total, time.perf_counter() - start)
            if tty:
                printed = 0
                self._write(f"\r    {line}")
            elif (quarter := 4 * done // total) > printed:
                printed = quarter
                self._write(f"    {line}\n")

        try:
            yield update
        finally:
            elapsed = time.perf_counter() - start
            self.seconds[name] = elapsed
            self._write(("\n" if tty and printed >= 0 else "") + f"    done in {elapsed:.1f} s\n")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def _bar(done: int, total: int, elapsed: float) -> str:
    filled = WIDTH * min(done, total) // total
    return f"|{'#' * filled}{'.' * (WIDTH - filled)}| {done}/{total}  {elapsed:.1f} s"
