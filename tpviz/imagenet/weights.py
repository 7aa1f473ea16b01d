"""Where ImageNet weights come from: a local folder, torch's hub cache, then torchvision's download."""

from __future__ import annotations

import os
import re
import socket
import warnings
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision

from ..config import WEIGHTS_DIR_ENV
from ..errors import WeightsError, WeightsNotFoundError, first_line
from ..files.read import env_folder, readable_file
from .fetch import explain

StateDict = dict[str, torch.Tensor]
PARALLEL_PREFIX = "module."  # what DataParallel / DistributedDataParallel put before every key
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # torch colours some of its messages
DOWNLOAD_TIMEOUT_S = 60  # per network read, not for the whole file


def weights_url(arch: str) -> str:
    """torchvision's download URL of the ImageNet weights of ``arch`` (its DEFAULT weights)."""
    return torchvision.models.get_model_weights(arch).DEFAULT.url


def local_weights_path(arch: str) -> Path | None:
    """``$TPVIZ_WEIGHTS_DIR/<arch>_imagenet.pth`` (None when the variable is unset)."""
    folder = env_folder(WEIGHTS_DIR_ENV, f"{arch}_imagenet.pth", error=WeightsError)
    return None if folder is None else folder / f"{arch}_imagenet.pth"


def hub_cache_path(url: str) -> Path:
    """Where torch's hub keeps the file downloaded from ``url`` (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def read_state_dict(path: Path) -> StateDict:
    """A plain state_dict from a ``.pth`` file, every value finite; a clear error naming the file when it is
    not one. Keys saved from ``DataParallel`` (``module.`` before each) are accepted, with a warning."""
    path = readable_file(path, "weight file", error=WeightsError)
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a damaged file fails in many ways inside torch.load; all mean the same here
        text = _ANSI.sub("", str(err))
        if "Unsupported global" in text:
            raise WeightsError(f"weight file {str(path)!r} holds a whole pickled model (torch.save(model)), which "
                               "tpviz does not unpickle (that could run any code). Where you trust the file, load "
                               "it yourself and save its weights: torch.save(model.state_dict(), path)") from None
        unpickler = re.search(r"WeightsUnpickler error:\s*(\S.*)", text)  # past torch's advice to unpickle anyway
        reason = (unpickler.group(1) if unpickler else text.strip().splitlines()[0] if text.strip()
                  else f"{type(err).__name__}: the file is empty or ends early")
        raise WeightsError(f"weight file {str(path)!r} is corrupt or not a PyTorch file ({reason}). "
                           "Delete it and download it again.") from None
    if not isinstance(sd, dict) or not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise WeightsError(f"weight file {str(path)!r} does not hold a plain state_dict (a dict of tensors); "
                           "save one with torch.save(model.state_dict(), path)")
    return _finite(_unwrap(sd, path), path)


def _unwrap(sd: StateDict, path: Path) -> StateDict:
    """``sd`` without the ``module.`` prefix DataParallel puts before every key (said in a warning)."""
    if not all(isinstance(k, str) and k.startswith(PARALLEL_PREFIX) for k in sd):
        return sd
    warnings.warn(f"weight file {str(path)!r} was saved from DataParallel: its keys' {PARALLEL_PREFIX!r} prefix "
                  "is removed. Save model.module.state_dict() to avoid this note.", stacklevel=3)
    return {k[len(PARALLEL_PREFIX):]: v for k, v in sd.items()}


def _finite(sd: StateDict, path: Path) -> StateDict:
    """``sd``, refused when a floating-point tensor holds NaN or an infinity (a damaged or diverged file)."""
    bad = [k for k, v in sd.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        more = f" and {len(bad) - 1} other tensor(s)" if len(bad) > 1 else ""
        raise WeightsError(f"weight file {str(path)!r} holds NaN or infinite values (in {bad[0]!r}{more}): it is "
                           "damaged, or saved from a training run that diverged. Delete it and download it again.")
    return sd


def download_state_dict(url: str, *, progress: bool = True) -> StateDict:
    """Download torchvision's weight file at ``url`` into torch's hub cache, hash-checked, and read it."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # torch.hub sets none: a silent network would hang forever
    try:
        return torch.hub.load_state_dict_from_url(url, progress=progress, check_hash=True,
                                                  map_location="cpu", weights_only=True)
    except RuntimeError as err:
        if "hash" in str(err).lower():
            raise WeightsError(f"the file downloaded from {url} failed its hash check ({first_line(err)}); "
                               f"delete {hub_cache_path(url)} and try again") from None
        raise WeightsError(f"the weights from {url} cannot be read ({first_line(err)}); "
                           f"delete {hub_cache_path(url)} and try again") from None
    except OSError as err:  # HTTP errors, SSL, no network, a full disk: each said as what it is
        raise ConnectionError(str(explain(err, url))) from None
    finally:
        socket.setdefaulttimeout(previous)


def folder_in_the_way(arch: str) -> Path | None:
    """The first place tpviz looks for ``arch``'s weights (local folder, hub cache) that holds a folder where the
    file should be; None when there is none."""
    local = local_weights_path(arch)
    for path in (local, hub_cache_path(weights_url(arch))):
        if path is not None and path.is_dir():
            return path
    return None


def weights_on_disk(arch: str) -> tuple[Path, str] | None:
    """The file holding ``arch``'s ImageNet weights on this machine, and a label for it: the local
    weights folder first, then torch's hub cache. None when neither has it (nothing is downloaded).

    Raises:
        WeightsError: a folder sits where one of those files should be (never skipped silently).
    """
    folder = folder_in_the_way(arch)
    if folder is not None:
        raise WeightsError(f"weight file {str(folder)!r} is a folder, not a file: remove or rename that folder, then "
                           f"put {arch}'s ImageNet weights file there (or let load_model({arch!r}) download it)")
    local = local_weights_path(arch)
    if local is not None and os.path.lexists(local):  # a broken link there is reported when read
        return local, f"{WEIGHTS_DIR_ENV} ({local})"
    cached = hub_cache_path(weights_url(arch))
    if os.path.lexists(cached):  # a broken link or a pipe there is reported when read, never downloaded over
        return cached, f"torch hub cache ({cached})"
    return None


def find_state_dict(arch: str, *, progress: bool = True) -> tuple[StateDict, str]:
    """The ImageNet state_dict of ``arch`` and where it came from, trying in order: the local weights
    folder, torch's hub cache, torchvision's download. Offline with nothing found: one clear error."""
    found = weights_on_disk(arch)
    if found is not None:
        return read_state_dict(found[0]), found[1]
    local = local_weights_path(arch)
    url = weights_url(arch)
    cached = hub_cache_path(url)
    try:
        return download_state_dict(url, progress=progress), f"downloaded from {url}"
    except ConnectionError as err:
        where = f"{local.parent}" if local is not None else f"a folder named by ${WEIGHTS_DIR_ENV} (now unset)"
        raise WeightsNotFoundError(
            f"no ImageNet weights for {arch!r} here, and the download failed: {err}\n"
            f"Fix one of: fix that and retry; or, on a machine with internet, run `tpviz download --to DIR` and "
            f"set {WEIGHTS_DIR_ENV} to DIR; or put a state_dict file named "
            f"{arch}_imagenet.pth in {where} and set {WEIGHTS_DIR_ENV} to that folder; or copy torchvision's "
            f"{os.path.basename(cached)} into {cached.parent}.") from None

