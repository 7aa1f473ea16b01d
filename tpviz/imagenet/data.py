"""CS231n's 25 ImageNet validation images: found locally, or downloaded once and checked."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .classes import class_name
from ..config import DATA_DIR_ENV, env_dir, repo_data_dir
from ..errors import DataError, InputError

VAL_FILE = "imagenet_val_25.npz"
VAL_URL = "http://cs231n.stanford.edu/imagenet_val_25.npz"
VAL_SHA256 = "35141609d22457c791e8fbe10c2d3b09ed0d6a04b669173e9fbebb0b4915cd3c"
VAL_COUNT = 25


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
    path = find_val_file()
    try:
        with np.load(path, allow_pickle=False) as f:
            images, labels = f["X"][:count], f["y"][:count].astype(np.int64)
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{str(path)!r} is not CS231n's {VAL_FILE} ({err}); delete it and run again") from None
    return ImageNetVal(images, labels, [class_name(int(i)) for i in labels])


def val_file_candidates() -> list[Path]:
    """Where ``imagenet_val_25.npz`` is looked for, in order: ``$TPVIZ_DATA_DIR``, then ``data/``."""
    return [d / VAL_FILE for d in (env_dir(DATA_DIR_ENV), repo_data_dir()) if d is not None]


def val_file_on_disk() -> Path | None:
    """The first of ``val_file_candidates()`` that exists (nothing is downloaded), or None."""
    return next((path for path in val_file_candidates() if path.is_file()), None)


def find_val_file() -> Path:
    """Path of ``imagenet_val_25.npz``: ``$TPVIZ_DATA_DIR``, then ``data/``, else downloaded into ``data/``."""
    found = val_file_on_disk()
    if found is not None:
        return found
    candidates = val_file_candidates()
    target = repo_data_dir() / VAL_FILE
    try:
        return fetch(VAL_URL, target, sha256=VAL_SHA256)
    except OSError as err:
        raise DataError(
            f"{VAL_FILE} is not here and could not be downloaded ({err}).\n"
            f"Fix one of: connect to the internet and retry; or download {VAL_URL} yourself and put it in "
            f"{target.parent} or in a folder named by ${DATA_DIR_ENV}. Looked in: "
            f"{', '.join(str(p) for p in candidates)}") from None


def fetch(url: str, target: Path, *, sha256: str, timeout: float = 60) -> Path:
    """Download ``url`` to ``target`` atomically, keeping it only when its sha256 matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise DataError(f"the file from {url} has sha256 {digest.hexdigest()}, expected {sha256}: not kept")
        shutil.move(tmp, target)
        return target
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
