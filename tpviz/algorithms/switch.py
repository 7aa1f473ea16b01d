"""A process-wide on/off setting that a ``with`` block changes and then restores (the reference paths that
tests and benchmarks compare with: ``layout.plain()``, ``layout.bfloat16()``, ``head.all_scores()``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Switch:
    """``on`` is the current value; ``set(value)`` is a context manager that sets it for the block (thread-safe)."""

    def __init__(self, on: bool) -> None:
        self.on = on
        self._lock = threading.Lock()

    @contextmanager
    def set(self, value: bool) -> Iterator[None]:
        with self._lock:
            before, self.on = self.on, value
        try:
            yield
        finally:
            with self._lock:
                self.on = before
