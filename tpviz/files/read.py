"""Checking a path before anything opens it: the one place where every loader (photos, weights, the sample
images, the rubric) turns a path as typed into a readable regular file, or into one error that names the file
and the fix: a URL, ``~``, a folder, a missing file, a broken or looping symbolic link, no permission."""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from typing import Any

from ..config import env_dir
from ..errors import DataError, InputError, TpvizError

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
ErrorType = type[TpvizError]


def user_path(path: Any, what: str, *, error: ErrorType = InputError) -> Path:
    """``path`` (a str or ``os.PathLike``) as a ``Path``, ``~`` expanded.

    Raises:
        InputError: not a path, or an empty one.
        error: a URL (tpviz reads files; it downloads nothing it was not built to download).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"{what} must be a path (a str or pathlib.Path), got {type(path).__name__}")
    text = os.fsdecode(os.fspath(path))
    if not text.strip() or "\0" in text:
        raise InputError(f"{what} {text!r} is not a path: give the file's path, e.g. 'photos/cat.jpg'")
    if _URL.match(text):
        raise error(f"{what} {text!r} is a URL, not a file on this machine: download it first (e.g. "
                    f"urllib.request.urlretrieve(url, 'file_name')) and pass the downloaded file's path")
    try:
        return Path(text).expanduser()
    except RuntimeError as err:  # "~someone" with no such user
        raise error(f"{what} {text!r}: {err}; write the folder out in full") from None


def readable_file(path: Any, what: str, *, error: ErrorType = DataError, fix: str = "") -> Path:
    """``path`` checked to be a regular file this process may read (``~`` expanded, links followed).

    Args:
        what: the file's role for the message, e.g. "image file", "weight file".
        error: the exception class for a file that cannot be used (a wrong type is an ``InputError``).
        fix: appended to each message after "; ", e.g. how to get the file again.
    """
    p = user_path(path, what, error=error)
    shown = repr(str(p))
    try:
        info = p.stat()
    except OSError as err:
        raise error(f"{_why(p, what, err)}{_then(fix)}") from None
    except ValueError as err:  # a path too long for the platform, an odd character
        raise error(f"{what} {shown} is not a usable path ({err}){_then(fix)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{what} {shown} is a folder, not a file: pass the path of the file itself{_then(fix)}")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{what} {shown} is not a regular file (a pipe, socket or device): pass a file{_then(fix)}")
    if not os.access(p, os.R_OK):
        raise error(f"{what} {shown} cannot be read: permission denied. Ask for read access, or copy the file "
                    f"somewhere you can read it{_then(fix)}")
    return p


def read_bytes(path: Any, what: str, *, max_bytes: int, error: ErrorType = DataError, fix: str = "") -> bytes:
    """The bytes of the file at ``path`` (checked by ``readable_file``), refused past ``max_bytes``."""
    p = readable_file(path, what, error=error, fix=fix)
    try:
        with open(p, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as err:
        raise error(f"{_why(p, what, err)}{_then(fix)}") from None
    if len(data) > max_bytes:
        raise error(f"{what} {str(p)!r} is larger than {max_bytes / 1e6:g} MB: not the file expected{_then(fix)}")
    return data


def env_folder(name: str, holds: str, *, error: ErrorType = DataError) -> Path | None:
    """The folder named by environment variable ``name`` (None when unset), ``~`` expanded.

    Raises:
        error: the variable names something that is not a folder (a file, say), or a URL.
    """
    folder = env_dir(name)
    if folder is not None and _URL.match(os.environ.get(name, "").strip()):
        raise error(f"${name} is {os.environ[name].strip()!r}, a URL: set {name} to a folder on this machine that "
                    f"holds {holds} (download it there first), or unset it")
    if folder is not None and os.path.lexists(folder) and not folder.is_dir():
        raise error(f"${name} is {str(folder)!r}, which is not a folder (a file?): set {name} to the folder "
                    f"that holds {holds}, or unset it")
    return folder


def _why(p: Path, what: str, err: OSError) -> str:
    """Why ``p`` cannot be opened, from the error ``stat`` or ``open`` gave."""
    shown = repr(str(p))
    if err.errno == errno.ENOENT:
        if os.path.islink(p):
            return f"{what} {shown} is a symbolic link to {_link_target(p)!r}, which does not exist"
        return f"no {what} at {shown} (current folder: {_cwd()}): check the path"
    if err.errno == errno.ENOTDIR:
        return f"no {what} at {shown}: a part of that path is a file, not a folder"
    if err.errno == errno.ELOOP:
        return f"{what} {shown} is a loop of symbolic links: point the link at the real file"
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"{what} {shown} cannot be read: permission denied (on the file or a folder above it)"
    if err.errno == errno.ENAMETOOLONG:
        return f"{what} {shown}: the path is too long for this system"
    return f"{what} {shown} cannot be read ({err.strerror or type(err).__name__})"


def _link_target(p: Path) -> str:
    try:
        return os.readlink(p)
    except OSError:
        return "?"


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        return "a folder that no longer exists"


def _then(fix: str) -> str:
    return f"; {fix}" if fix else ""
