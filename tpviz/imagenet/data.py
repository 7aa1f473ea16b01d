"""CS231n's 25 ImageNet validation images: found locally, or downloaded once and checked."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..config import DATA_DIR_ENV, mirror_url, repo_data_dir
from ..errors import DataError, InputError
from ..files.read import env_folder
from .classes import class_name
from .fetch import DownloadError, Progress, download, sha256_check
from .valfile import VAL_COUNT, VAL_FILE, read_val_file

VAL_URL = "https://cs231n.stanford.edu/imagenet_val_25.npz"
VAL_MIRROR = "http://cs231n.stanford.edu/imagenet_val_25.npz"  # the same host without TLS: sha256-checked all the same
# An independent host: the Internet Archive's copy of that URL ("id_" asks the Wayback Machine for the original
# bytes, the capture nearest 2020). Sha256-checked like every source; not reachable from the build machine.
VAL_ARCHIVE = "https://web.archive.org/web/2020id_/http://cs231n.stanford.edu/imagenet_val_25.npz"
VAL_SHA256 = "35141609d22457c791e8fbe10c2d3b09ed0d6a04b669173e9fbebb0b4915cd3c"


class ImageNetVal(NamedTuple):
    """Images (N, 224, 224, 3) uint8, labels (N,) int64, and each image's class name."""

    images: np.ndarray
    labels: np.ndarray
    names: list[str]


def load_imagenet_val(count: int = VAL_COUNT) -> ImageNetVal:
    """The first ``count`` (1–25) of CS231n's ImageNet validation images.

    Looked up in ``$TPVIZ_DATA_DIR``, then the project's ``data/``; downloaded once into ``data/``
    (sha256-checked) when neither has it. Images 0–4: hay, quail, Tibetan mastiff, Border terrier, brown bear.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= VAL_COUNT:
        raise InputError(f"count must be an int from 1 to {VAL_COUNT}, got {count!r}")
    images, labels = read_val_file(find_val_file(), url=VAL_URL)
    images, labels = images[:count], labels[:count]
    return ImageNetVal(images, labels, [class_name(int(i)) for i in labels])


def val_file_candidates() -> list[Path]:
    """Where ``imagenet_val_25.npz`` is looked for, in order: ``$TPVIZ_DATA_DIR``, then ``data/``."""
    folder = env_folder(DATA_DIR_ENV, VAL_FILE, error=DataError)
    return [d / VAL_FILE for d in (folder, repo_data_dir()) if d is not None]


def val_file_on_disk() -> Path | None:
    """The first of ``val_file_candidates()`` that exists (nothing is downloaded), or None."""
    # Anything there, a folder or a broken link too: read_val_file says what is wrong with it.
    return next((path for path in val_file_candidates() if path.exists() or path.is_symlink()), None)


def find_val_file() -> Path:
    """Path of ``imagenet_val_25.npz``: ``$TPVIZ_DATA_DIR``, then ``data/``, else downloaded into ``data/``."""
    found = val_file_on_disk()
    if found is not None:
        return found
    candidates = val_file_candidates()
    target = repo_data_dir() / VAL_FILE
    try:
        return fetch_val_file(target)
    except DownloadError as err:
        raise DataError(
            f"{VAL_FILE} is not here and could not be downloaded: {err}\n"
            f"Or download {VAL_URL} yourself (or run `tpviz download --to DIR`) and put it in {target.parent} or "
            f"in a folder named by ${DATA_DIR_ENV}. Looked in: {', '.join(str(p) for p in candidates)}") from None


def val_sources() -> list[str]:
    """Where the 25 images are downloaded from, in order: ``$TPVIZ_MIRROR``, CS231n's https and http URL, then
    the Internet Archive's copy (another host, for when CS231n's is down or moved)."""
    return [url for url in (mirror_url(VAL_FILE), VAL_URL, VAL_MIRROR, VAL_ARCHIVE) if url]


def fetch_val_file(target: Path, *, progress: Progress | None = None) -> Path:
    """Download the 25 images to ``target`` from the first of ``val_sources()`` that works (sha256-checked).

    Raises:
        DownloadError: every source failed; its message names each source's cause.
    """
    failures = []
    for url in dict.fromkeys(val_sources()):
        try:
            return download(url, target, check=sha256_check(VAL_SHA256), progress=progress)
        except DownloadError as err:
            if err.kind == "disk":
                raise
            failures.append(err)
    if len(failures) == 1:
        raise failures[0]
    raise DownloadError("; and ".join(str(e) for e in failures), kind=failures[-1].kind, url=failures[-1].url)


def fetch(url: str, target: Path, *, sha256: str, timeout: float = 60) -> Path:
    """Download ``url`` to ``target`` (via ``target.part``), keeping it only when its sha256 matches."""
    return download(url, target, check=sha256_check(sha256), timeout=timeout)
