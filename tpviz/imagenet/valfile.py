"""Reading ``imagenet_val_25.npz`` and checking what it holds: a damaged or foreign file is one ``DataError``
saying to delete it (it is then downloaded again), never a raw zip, pickle or end-of-file error."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..config import DATA_DIR_ENV
from ..errors import DataError
from ..files.read import readable_file

VAL_FILE = "imagenet_val_25.npz"
VAL_COUNT = 25
VAL_SHAPE = (224, 224, 3)
CLASSES = 1000


def read_val_file(path: Path, *, url: str) -> tuple[np.ndarray, np.ndarray]:
    """The images (25, 224, 224, 3) uint8 and labels (25,) int64 in ``path``, checked.

    Args:
        url: where the file is downloaded from, for the message.
    """
    fix = (f"delete it: the next tpviz.load_imagenet_val() downloads it again from {url} (or copy a good "
           f"{VAL_FILE} into a folder named by ${DATA_DIR_ENV})")
    path = readable_file(path, VAL_FILE, error=DataError, fix=fix)
    try:
        with np.load(path, allow_pickle=False) as f:
            images, labels = f["X"], f["y"]
    except (OSError, ValueError, KeyError, EOFError, MemoryError, zipfile.BadZipFile) as err:
        text = str(err).strip()
        why = text.splitlines()[0][:200] if text else f"{type(err).__name__}: the file is empty or cut short"
        raise DataError(f"{str(path)!r} is damaged or not CS231n's {VAL_FILE} ({why}); {fix}") from None
    problem = val_problem(images, labels)
    if problem:
        raise DataError(f"{str(path)!r} is not CS231n's {VAL_FILE}: {problem}; {fix}")
    return images, labels.astype(np.int64)


def val_problem(images: np.ndarray, labels: np.ndarray) -> str:
    """What is wrong with the arrays of a would-be ``imagenet_val_25.npz``; "" when nothing is."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != VAL_SHAPE:
        return f"its images X are {images.dtype} {images.shape}, not uint8 (N, 224, 224, 3)"
    if len(images) < VAL_COUNT:
        return f"it holds {len(images)} images, not {VAL_COUNT}"
    if labels.dtype.kind not in "iu" or labels.shape != (len(images),):
        return f"its labels y are {labels.dtype} {labels.shape}, not {len(images)} integers"
    if labels.min() < 0 or labels.max() >= CLASSES:
        return f"its labels run from {labels.min()} to {labels.max()}, outside ImageNet's 0-{CLASSES - 1}"
    return ""
