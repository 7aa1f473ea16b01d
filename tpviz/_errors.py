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
