"""The exceptions tpviz raises: each message says what went wrong and what to do."""

from __future__ import annotations


class TpvizError(Exception):
    """Base class of every error tpviz raises on purpose."""


class InputError(TpvizError, ValueError):
    """A tensor, label, class name or knob that tpviz cannot use as given."""


class WeightsError(TpvizError, RuntimeError):
    """Pretrained weights that cannot be found, read or loaded."""


class DataError(TpvizError, OSError):
    """An image or data file that cannot be found or read."""


class WeightsNotFoundError(WeightsError):
    """No ImageNet weights anywhere tpviz looks, and no way to download them."""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (torch's can run to dozens of lines)."""
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__
