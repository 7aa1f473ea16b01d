"""``tpviz download``: fill one folder with the models' ImageNet weights and the 25 images, for offline use.

The folder then serves as both ``TPVIZ_WEIGHTS_DIR`` and ``TPVIZ_DATA_DIR`` (``<name>_imagenet.pth`` and
``imagenet_val_25.npz``), and as a class mirror (``TPVIZ_MIRROR``) once served over http or a shared disk.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import DATA_DIR_ENV, WEIGHTS_DIR_ENV, mirror_url
from ..errors import InputError
from ..files.read import user_path
from .progress import StageProgress

HELP = "download the models' ImageNet weights and the 25 sample images into one folder (for offline labs)"
DEFAULT_MODELS = ("squeezenet1_1", "vgg16")
MB = 1 << 20


@dataclass(frozen=True)
class Item:
    """One file to put in the folder: its name there, where it comes from in order, and how it is checked."""

    filename: str
    sources: tuple[str, ...]
    check: Callable[[Path, str], str | None]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help="comma-separated torchvision model names (default: %(default)s)")
    parser.add_argument("--to", required=True, metavar="DIR",
                        help="the folder to fill (made if missing; complete files are kept, partial ones resumed)")


def run(args: argparse.Namespace) -> int:
    folder = user_path(args.to, "--to").resolve()  # ~ expanded; empty, a URL or an unknown ~user refused
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--to {str(args.to)!r} is a file: name a folder (it is made if missing)")
    items = catalog(parse_models(args.models))
    progress = StageProgress(len(items))
    failures = []
    for item in items:
        with progress.stage(item.filename) as update:
            error = fetch_item(item, folder, lambda done, total: update(-(-done // MB), -(-total // MB)))
        if error is not None:
            print(f"    FAILED: {error}", file=sys.stderr)
            failures.append(item.filename)
    if failures:
        print(f"tpviz download: {len(failures)} file(s) missing from {folder}: {', '.join(failures)} "
              "(the reasons are above; run the same command again to resume)", file=sys.stderr)
        return 1
    print(env_lines(folder))
    return 0


def parse_models(text: str) -> list[str]:
    """The model names of ``--models``, each checked against torchvision's list."""
    from ..imagenet.models import model_names

    names = [n.strip() for n in text.split(",") if n.strip()]
    known = set(model_names())
    unknown = [n for n in names if n not in known]
    if not names or unknown:
        raise InputError(f"--models {text!r}: unknown model(s) {', '.join(unknown) or '(none given)'}; use "
                         f"comma-separated torchvision names, e.g. {','.join(DEFAULT_MODELS)}")
    return list(dict.fromkeys(names))


def catalog(models: list[str]) -> list[Item]:
    """The files of a download folder: each model's weights, then the 25 images."""
    from ..imagenet.data import VAL_FILE, VAL_SHA256, val_sources
    from ..imagenet.fetch import sha256_check
    from ..imagenet.weights import weights_url

    items = []
    for name in models:
        url = weights_url(name)
        official = re.search(r"-([a-f0-9]{8,})\.", url.rsplit("/", 1)[-1])
        mirror = mirror_url(f"{name}_imagenet.pth")
        items.append(Item(f"{name}_imagenet.pth", tuple(u for u in (mirror, url) if u),
                          weights_check(name, official.group(1) if official else None)))
    items.append(Item(VAL_FILE, tuple(dict.fromkeys(val_sources())), sha256_check(VAL_SHA256)))
    return items


def weights_check(name: str, sha256_prefix: str | None) -> Callable[[Path, str], str | None]:
    """torchvision's file passes by the sha256 prefix in its name; any other file (a class mirror's copy, saved
    again) passes when it is a state_dict that loads into ``name`` exactly."""
    def check(path: Path, digest: str) -> str | None:
        if sha256_prefix and digest.startswith(sha256_prefix):
            return None
        from ..errors import WeightsError
        from ..imagenet.models import _build, _load_into
        from ..imagenet.weights import read_state_dict

        try:
            _load_into(_build(name), read_state_dict(path), name, str(path))
        except WeightsError as err:
            return f"neither torchvision's file (sha256 {sha256_prefix}…) nor {name}'s weights: {err}"
        return None
    return check


def fetch_item(item: Item, folder: Path, progress: Callable[[int, int], None]) -> str | None:
    """Put ``item`` into ``folder`` unless a checked copy is there; None when done, else why it failed."""
    from ..imagenet.fetch import DownloadError, download, file_sha256

    target = folder / item.filename
    if target.is_file() and item.check(target, file_sha256(target)) is None:
        print("    already there, checked", file=sys.stderr)
        return None
    if target.exists() and not target.is_file():  # checked before downloading hundreds of MB for nothing
        return f"{target} is a folder (or another non-file): remove or rename it, then run the same command again"
    reasons = []
    for url in item.sources:
        try:
            download(url, target, check=item.check, progress=progress)
            return None
        except DownloadError as err:
            reasons.append(str(err))
            if err.kind == "disk":
                break
            if url != item.sources[-1]:
                print(f"    {err}; trying the next source", file=sys.stderr)
    return "; ".join(reasons)


def env_lines(folder: Path) -> str:
    """What to set so the kit reads ``folder``: for sh/bash/zsh and for Windows PowerShell."""
    sh = shlex.quote(str(folder))
    ps = "'" + str(folder).replace("'", "''") + "'"
    return (f"Done: {folder} holds the weights and the images. Set these before starting Jupyter:\n"
            f"  sh, bash, zsh:\n    export {WEIGHTS_DIR_ENV}={sh}\n    export {DATA_DIR_ENV}={sh}\n"
            f"  Windows PowerShell:\n    $env:{WEIGHTS_DIR_ENV} = {ps}\n    $env:{DATA_DIR_ENV} = {ps}")
