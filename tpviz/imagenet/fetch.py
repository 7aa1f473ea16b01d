"""Downloading one file: hash-checked, resumable, with a progress callback, and errors that name their cause.

A download goes to ``<target>.part`` first. A ``.part`` left by an interrupted run is resumed with an HTTP
range request when the server allows it, and restarted otherwise; a file that fails its hash is deleted.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from ..errors import DataError

Progress = Callable[[int, int], None]  # (bytes done, bytes in all; 0 when unknown)
CHUNK = 1 << 16
MACOS_CERTIFICATES = ('on macOS with Python from python.org, run "Install Certificates.command" once (double-click '
                      "it in /Applications/Python 3.x/); elsewhere install your system's CA certificates "
                      "(e.g. ca-certificates) or point SSL_CERT_FILE at a CA bundle")


class DownloadError(DataError):
    """A download that failed; ``kind`` is "network", "http", "ssl", "disk", "cut", "hash" or "other"."""

    def __init__(self, message: str, *, kind: str, url: str) -> None:
        super().__init__(message)
        self.kind, self.url = kind, url


def explain(err: BaseException, url: str) -> DownloadError:
    """The real cause of a failed download of ``url``, in words, with what to do about it."""
    host = urlparse(url).hostname or url
    if isinstance(err, DownloadError):
        return err
    if isinstance(err, urllib.error.HTTPError):
        hint = {403: "the server refuses to serve it (a proxy or firewall in the way, or the file moved)",
                404: "there is no such file there (it moved: another source, or a newer tpviz, may have it)"}
        why = hint.get(err.code, "the server could not serve it; try again later")
        return DownloadError(f"HTTP {err.code} {err.reason} for {url}: {why}", kind="http", url=url)
    reason = err.reason if isinstance(err, urllib.error.URLError) else err
    if isinstance(reason, ssl.SSLCertVerificationError) or (
            isinstance(reason, ssl.SSLError) and "CERTIFICATE" in str(reason).upper()):
        return DownloadError(f"the SSL certificate of {host} could not be verified ({reason}): "
                             f"{MACOS_CERTIFICATES}", kind="ssl", url=url)
    if isinstance(reason, OSError) and reason.errno in (errno.ENOSPC, errno.EDQUOT):
        return DownloadError(f"disk full while saving {url} ({reason.strerror}): free some space, or download "
                             "into a folder on another disk", kind="disk", url=url)
    if isinstance(reason, http.client.IncompleteRead):
        return DownloadError(f"the connection to {host} was cut before the end of {url}: run again, the "
                             "download resumes where it stopped", kind="cut", url=url)
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return DownloadError(f"no network: {host} stopped answering ({reason or 'timed out'}); check your "
                             "connection and run again (a partial download resumes)", kind="network", url=url)
    if isinstance(reason, socket.gaierror):
        return DownloadError(f"no network: cannot find {host} ({reason.strerror or reason}); connect to the "
                             "internet (or check the proxy settings) and run again", kind="network", url=url)
    if isinstance(reason, FileNotFoundError) and urlparse(url).scheme == "file":
        return DownloadError(f"no file at {url}", kind="http", url=url)
    if isinstance(reason, (ConnectionError, http.client.HTTPException, OSError)):
        return DownloadError(f"no network: cannot reach {host} ({reason}); connect to the internet and run again",
                             kind="network", url=url)
    return DownloadError(f"the download of {url} failed ({type(err).__name__}: {err})", kind="other", url=url)


def part_path(target: Path) -> Path:
    """Where the download of ``target`` goes until it is complete and checked."""
    return target.with_name(target.name + ".part")


def download(url: str, target: Path, *, check: Callable[[Path, str], str | None], timeout: float = 60,
             progress: Progress | None = None) -> Path:
    """Download ``url`` to ``target``, resuming ``target.part`` if there is one.

    ``check(path, sha256)`` returns None when the finished file is right, else why not (it is then deleted).
    Raises:
        DownloadError: the cause named (see ``explain``); an interrupted ``.part`` is kept for the next run.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(target)
    try:
        digest = _fetch(url, part, timeout=timeout, progress=progress)
    except DownloadError:
        raise
    except (OSError, http.client.HTTPException) as err:
        raise explain(err, url) from None
    wrong = check(part, digest)
    if wrong is not None:
        part.unlink()
        raise DownloadError(f"the file from {url} is not the expected one ({wrong}): not kept", kind="hash", url=url)
    os.replace(part, target)
    return target


def sha256_check(expected: str) -> Callable[[Path, str], str | None]:
    """A ``check`` that wants the sha256 to start with ``expected`` (a full digest, or torchvision's prefix)."""
    def check(path: Path, digest: str) -> str | None:
        return None if digest.startswith(expected) else f"sha256 {digest[:16]}…, expected {expected[:16]}…"
    return check


def file_sha256(path: Path) -> str:
    """The sha256 of a file on disk, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, part: Path, *, timeout: float, progress: Progress | None) -> str:
    """Append the rest of ``url`` to ``part`` (all of it when the server ignores the range); its sha256."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code != 416 or not have:  # 416: nothing left after ``have`` bytes: the part may be whole
            raise
        return file_sha256(part)
    with response:
        resumed = have and getattr(response, "status", 200) == 206
        digest = hashlib.sha256()
        if resumed:
            with open(part, "rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
        done = have if resumed else 0
        length = response.headers.get("Content-Length")
        total = done + int(length) if length and length.isdigit() else 0
        read = getattr(response, "read1", response.read)  # what has arrived: a stall keeps what came before it
        with open(part, "ab" if resumed else "wb") as out:
            while chunk := read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        if total and done < total:
            raise explain(http.client.IncompleteRead(b"", total - done), url)
    return digest.hexdigest()
