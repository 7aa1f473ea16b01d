"""Keep the memory a loop frees between its steps, so that the next step does not fault it in again.

Every step of an ascent allocates and frees the same tensors (activations, gradients, the max pools' zeroed
gradients). glibc's malloc hands large freed blocks back to the OS (``munmap``, or trimming the top of its
heap once more than ``M_TRIM_THRESHOLD`` is free there), and the next step touches fresh pages: one page fault
per 4 KiB, paid again every step. Measured on the 2-core CPU (``benchmarks/bench_heap.py``, README, Speed):
a VGG16 class-visualization iteration faulted 7,000-13,000 pages without it and ~1,000 with it, and took 0.87x
as long; SqueezeNet's faulted 0-360 pages, by how the heap happened to be laid out (worth <= 0.3 ms of its
~25 ms), and ~30 with it. Inside the block, blocks up to 32 MB come from the heap (glibc's largest
``M_MMAP_THRESHOLD``) and the heap is not trimmed; when the outermost block ends, ``malloc_trim(0)`` gives
the freed memory back, and the trim threshold becomes 64 MB (glibc's own upper value for it).

Only glibc (Linux) has these settings; elsewhere (macOS, Windows, musl), or where the user chose them
(``MALLOC_*_`` variables or ``GLIBC_TUNABLES``), ``kept()`` changes nothing.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .switch import Switch

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's upper bound for it on 64-bit systems
_TRIM_INSIDE, _TRIM_AFTER = 2**31 - 1, 2 * _MMAP_THRESHOLD  # mallopt takes a C int
_USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")

_keep = Switch(True)
_lock = threading.Lock()
_depth = 0


@functools.cache
def _glibc() -> Any | None:
    """glibc's C library when this process runs on it (with mallopt and malloc_trim), else None."""
    try:
        libc = ctypes.CDLL(None)
        version = libc.gnu_get_libc_version
        version.restype = ctypes.c_char_p
        version()
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except (OSError, AttributeError, TypeError, ValueError):
        return None


def applies() -> bool:
    """Whether ``kept()`` changes malloc's settings here: glibc, no user setting, not switched off."""
    user = any(name in os.environ for name in _USER_SETTINGS) or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", "")
    return _keep.on and not user and _glibc() is not None


@contextmanager
def kept() -> Iterator[None]:
    """Inside the block (and any nested or concurrent ones), freed memory stays in the process for reuse; the
    outermost block's end gives it back to the OS. Does nothing where ``applies()`` is False."""
    global _depth
    libc = _glibc() if applies() else None
    if libc is None:
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_INSIDE)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_AFTER)
                libc.malloc_trim(0)


@contextmanager
def glibc_default() -> Iterator[None]:
    """Inside the block ``kept()`` changes nothing (the reference, for tests and benchmarks; in a fresh process
    it leaves glibc's own behaviour, since ``kept()`` changes settings for the rest of the process)."""
    with _keep.set(False):
        yield
