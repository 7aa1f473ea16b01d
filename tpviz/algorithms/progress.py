"""The ``progress=`` knob of every long loop: False (silent), True (a ``tqdm.auto`` bar: a widget in JupyterLab,
text elsewhere), or a callable ``progress(done, total)``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..errors import InputError

Progress = bool | Callable[[int, int], None] | None
Update = Callable[[int], None]


def check_progress(progress: object) -> None:
    """Raise unless ``progress`` is a bool, None or a callable (checked before any work starts)."""
    if progress is None or isinstance(progress, bool) or callable(progress):
        return
    raise InputError(f"progress must be True (a progress bar), False, or a function progress(done, total); "
                     f"got {type(progress).__name__} {progress!r:.40}")


@contextmanager
def reporting(progress: Progress, total: int, *, desc: str) -> Iterator[Update]:
    """``with reporting(progress, total, desc=...) as update: ... update(done)``; the bar is closed on exit."""
    check_progress(progress)
    if progress is None or progress is False:
        yield _silent
    elif progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, leave=False)
        try:
            yield lambda done: bar.update(done - bar.n)
        finally:
            bar.close()
    else:
        report = progress
        yield lambda done: report(done, total)  # type: ignore[operator]


def _silent(done: int) -> None:
    """No progress shown."""
