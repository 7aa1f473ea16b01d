"""Writing an output file: its folder created, the bytes written to a temporary file beside it and moved into
place only once complete (a reader never sees half a file), an existing file replaced only when asked, and the
temporary file removed whatever happens. A folder that cannot be written (read-only, no permission, a file in
the way, a full disk) is one ``InputError`` naming the path and the fix."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError, TpvizError
from .read import user_path


def make_folder(folder: Any, what: str) -> Path | None:
    """Create ``folder`` and any missing parents, checked writable.

    Returns:
        The topmost folder this call created (None when ``folder`` existed), for a caller that removes
        what it made when it fails.
    """
    path = user_path(folder, what)
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(cannot_write(path, what, PermissionError(errno.EACCES, "Permission denied")))
        return None
    if os.path.lexists(path):
        raise InputError(f"{what} {str(path)!r} exists and is not a folder: give a folder (a new one is made)")
    top = missing_top(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        remove_if_empty(top)  # the parents made before the failure (e.g. new/ of new/../a-file/out)
        raise InputError(cannot_write(path, what, err)) from None
    return top


def missing_top(path: Path) -> Path | None:
    """The topmost folder of ``path`` that does not exist yet (``path`` itself, or one above it); None when
    ``path`` exists: what creating ``path`` would make."""
    if os.path.lexists(path):
        return None
    top = path
    while not os.path.lexists(top.parent) and top.parent != top:
        top = top.parent
    return top


def remove_if_empty(top: Path | None) -> None:
    """Remove the folders ``make_folder`` created, from ``top`` down, when nothing was written in them."""
    if top is None:
        return
    with contextlib.suppress(OSError):
        for folder, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
            os.rmdir(folder)  # fails, and stops, at the first folder that holds something


@contextlib.contextmanager
def atomic_path(path: Any, what: str, *, overwrite: bool = False,
                overwrite_hint: str = "pass overwrite=True to replace it") -> Iterator[Path]:
    """A temporary file beside ``path`` for the caller to write; moved onto ``path`` when the block ends without
    error (an existing file is replaced only when ``overwrite``), removed in every other case.

    Raises:
        InputError: ``path`` is a folder, exists and ``overwrite`` is False, or its folder cannot be written.
    """
    target = user_path(path, what)
    refuse_existing(target, what, overwrite=overwrite, overwrite_hint=overwrite_hint)
    make_folder(target.parent, f"the folder of {what}")
    tmp = _temp_beside(target, what)
    try:
        try:
            yield tmp
            _publish(tmp, target, what, overwrite=overwrite, overwrite_hint=overwrite_hint)
        except TpvizError:
            raise
        except OSError as err:  # writing the temporary file, or moving it into place
            raise InputError(cannot_write(target, what, err)) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_file(path: Any, data: bytes, what: str, *, overwrite: bool = False) -> str:
    """Write ``data`` to ``path`` atomically (see ``atomic_path``); the sha256 of the bytes written."""
    with atomic_path(path, what, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def refuse_existing(target: Path, what: str, *, overwrite: bool, overwrite_hint: str) -> None:
    """An ``InputError`` when ``target`` is a folder, or exists and may not be replaced."""
    shown = repr(str(target))
    if target.is_dir():
        raise InputError(f"{what} {shown} is a folder: give a file name, e.g. {str(target / 'out.png')!r}")
    if os.path.lexists(target) and not overwrite:
        raise InputError(f"{shown} exists already; {overwrite_hint}, or choose another name")


def cannot_write(path: Path, what: str, err: OSError) -> str:
    """The message for an ``OSError`` met while writing ``path``: what happened, and what to do."""
    why = _WHY.get(err.errno or 0, f"{err.strerror or type(err).__name__}. Choose another folder")
    return f"cannot write {what} {str(path)!r}: {why}"


_PERMISSION = "permission denied. Choose a folder you can write to (one in your home folder, say), or ask for write access"
_IN_THE_WAY = "a part of that path is a file, not a folder. Choose another path"
_FULL = "the disk is full (or your quota is). Free some space, or choose another disk"
_WHY = {errno.EACCES: _PERMISSION, errno.EPERM: _PERMISSION, errno.ENOTDIR: _IN_THE_WAY, errno.EEXIST: _IN_THE_WAY,
        errno.ENOSPC: _FULL, errno.EDQUOT: _FULL,
        errno.EROFS: "the file system is read-only. Choose a folder on another disk",
        errno.ENAMETOOLONG: "the name is too long for this system. Choose a shorter one"}


def _temp_beside(target: Path, what: str) -> Path:
    """A new empty file ``.<name>.<random>.tmp`` in ``target``'s folder (created with the usual permissions)."""
    for _ in range(100):
        tmp = target.with_name(f".{target.name[:200]}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except OSError as err:
            raise InputError(cannot_write(target, what, err)) from None
        return tmp
    raise InputError(f"cannot write {what} {str(target)!r}: no free temporary name beside it. Choose another folder")


def _publish(tmp: Path, target: Path, what: str, *, overwrite: bool, overwrite_hint: str) -> None:
    """Move the finished ``tmp`` onto ``target``; without ``overwrite``, never over a file that appeared meanwhile."""
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # fails if target exists: no window in which another file could be replaced
    except FileExistsError:
        refuse_existing(target, what, overwrite=False, overwrite_hint=overwrite_hint)
        raise
    except OSError:  # no hard links on this file system (FAT, some network shares)
        refuse_existing(target, what, overwrite=False, overwrite_hint=overwrite_hint)
        os.replace(tmp, target)
