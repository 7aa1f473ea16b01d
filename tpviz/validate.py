"""The one number validator every knob of every public function goes through.

It accepts what a student types or computes (Python ints and floats, numpy scalars, 0-d tensors), rejects
what makes no sense for the knob (bools, strings, NaN, infinities, values out of bounds, a float where a
count is needed), and says in one line what to pass instead. No torch import: grading uses it too.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from .errors import InputError

# Past this, a float knob is a typo or an overflow (1e300), not a setting: nothing in the kit needs more.
HUGE = 1e12


def number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, integer: bool = False, hint: str = "",
           must: str | None = None) -> Any:
    """``value`` as a finite Python ``float`` (an ``int`` when ``integer``) within the bounds, or an ``InputError``.

    Args:
        value: an int, float, numpy scalar or 0-d tensor (bools are refused: ``True`` is not a number here).
        name: the argument's name, for the message.
        low, high: bounds (inclusive unless ``low_open`` / ``high_open``); None: no bound. Floats are also
            refused past ``HUGE`` in magnitude.
        integer: require a whole number (``3.0`` is accepted as 3, ``2.5`` is not).
        hint: appended to the message, e.g. "(the TP uses 5)".
        must: what the message says the knob must be, instead of the bounds (e.g. "in pixel units ...").
    """
    plain = _plain(value)
    wanted = f"{name} must be {must or _describe(low, high, low_open, high_open, integer)}"
    if plain is None:
        raise InputError(f"{wanted}, got {show(value)}{_hint(hint)}")
    if isinstance(plain, float) and not math.isfinite(plain):
        raise InputError(f"{wanted}, got {plain!r} (not a finite number){_hint(hint)}")
    if integer:
        if isinstance(plain, float):
            if not plain.is_integer():
                raise InputError(f"{wanted}, got {plain!r} (not a whole number){_hint(hint)}")
            plain = int(plain)
    else:
        plain = float(plain)
        if abs(plain) > HUGE:
            raise InputError(f"{wanted}, got {plain!r} (far too large to be a setting){_hint(hint)}")
    below = low is not None and (plain <= low if low_open else plain < low)
    above = high is not None and (plain >= high if high_open else plain > high)
    if below or above:
        raise InputError(f"{wanted}, got {show(plain)}{_hint(hint)}")
    return plain


def positive(value: Any, name: str, *, integer: bool = False, hint: str = "") -> Any:
    """A number > 0 (an int >= 1 when ``integer``)."""
    if integer:
        return number(value, name, low=1, integer=True, hint=hint)
    return number(value, name, low=0, low_open=True, hint=hint)


def count(value: Any, name: str, *, low: int = 1, high: int | None = None, hint: str = "") -> int:
    """A whole number in [low, high] (e.g. iterations, steps, a batch size)."""
    return number(value, name, low=low, high=high, integer=True, hint=hint)


def seed(value: Any, name: str = "seed") -> int:
    """A random seed: a whole number in [0, 2**63) (what torch.Generator.manual_seed takes)."""
    return number(value, name, low=0, high=2**63 - 1, integer=True)


def values(value: Any, name: str, *, integer: bool = False) -> list:
    """One number or a non-empty sequence of distinct numbers -> a list of plain Python numbers (not yet
    bounds-checked: pass each through ``number``)."""
    many = [value] if _plain(value) is not None or isinstance(value, (str, bytes)) else value
    try:
        items = list(many)
    except TypeError:
        raise InputError(f"{name} must be a number or a list of numbers, got {show(value)}") from None
    if not items:
        raise InputError(f"{name} has no values: give one value or a non-empty list")
    plain = [_plain(v) for v in items]
    whole = all(isinstance(v, int) or isinstance(v, float) and v.is_integer() for v in plain if v is not None)
    if any(v is None for v in plain) or integer and not whole:
        raise InputError(f"{name} must be {'ints' if integer else 'numbers'}, got {show(items)}")
    out = [number(v, name, integer=integer) for v in plain]
    if len(set(out)) != len(out):
        raise InputError(f"{name} has repeated values: {out}; give each value once")
    return out


def flag(value: Any, name: str) -> bool:
    """A real bool (``True``/``False``, or a numpy bool), never a string such as "False"."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise InputError(f"{name} must be True or False, got {show(value)}")


def _plain(value: Any) -> int | float | None:
    """A Python int/float from an int, float, numpy scalar or 0-d real tensor; None for anything else."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if type(value).__name__ == "Tensor" and getattr(value, "ndim", None) == 0:  # a 0-d torch tensor
        if value.dtype.is_complex or str(value.dtype) == "torch.bool":
            return None
        return float(value.item()) if value.dtype.is_floating_point else int(value.item())
    if type(value).__name__ == "ndarray" and getattr(value, "ndim", None) == 0:  # a 0-d numpy array
        return _plain(value.item())
    return None


def _describe(low: float | None, high: float | None, low_open: bool, high_open: bool, integer: bool) -> str:
    """E.g. "a positive number", "a positive int", "an int >= 0", "a number in (0, 1)"."""
    if (low, low_open) == ((1, False) if integer else (0, True)):
        most = "" if high is None else f" (at most {high:g})" if not high_open else f" (below {high:g})"
        return ("a positive int" if integer else "a positive number") + most
    return ("an int" if integer else "a number") + _range(low, high, low_open, high_open)


def _range(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {low:g}"
    if low is None:
        return f" {'<' if high_open else '<='} {high:g}"
    return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def show(value: Any) -> str:
    """A short repr for messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _hint(hint: str) -> str:
    return f" {hint}" if hint else ""

