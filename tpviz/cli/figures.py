"""``tpviz figures``: every figure of the TP and the attack table, as PNGs and one ``index.html`` gallery."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..files.read import user_path
from ..files.write import make_folder, missing_top, remove_if_empty, write_file
from .gallery import Entry, render_gallery

if TYPE_CHECKING:  # the command imports torch and matplotlib only when it runs
    from .stages import Artifact

HELP = "regenerate every figure of the TP (1-10) and the attack table into a folder, with an index.html gallery"
MARKER = ".tpviz-figures"  # marks a folder this command made, whose files it may replace
DEFAULT_MODELS = "squeezenet1_1,vgg16"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="figures", help="output folder (default: figures/)")
    parser.add_argument("--models", default=DEFAULT_MODELS,
                        help="one or two torchvision models, comma-separated: the first plays SqueezeNet's part, "
                             f"the second VGG16's (Figures 2, 9, 10); default {DEFAULT_MODELS}")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1 ...")
    parser.add_argument("--fast", action="store_true",
                        help="the notebooks' fast mode (also TPVIZ_FAST=1): few iterations, every figure still made")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty folder that tpviz figures did not make")


def run(args: argparse.Namespace) -> int:
    names = parse_models(args.models)
    from ..imagenet.models import resolve_device

    resolve_device(args.device)  # a device that does not exist fails before anything is written
    out = user_path(args.out, "--out")
    made = missing_top(out)  # what this run creates, and removes again if it writes nothing
    prepare_folder(out, force=args.force)
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window
    from ..config import fast_mode

    fast = args.fast or fast_mode()
    try:
        entries = make_all(out, names, device=args.device, fast=fast, command=command_line(args, fast=fast),
                           mark=made is not None or args.force)
    finally:
        remove_if_empty(made)
    where = out.resolve()  # absolute, and the gallery as a file:// URL: both work with spaces and non-ASCII names
    print(f"wrote {len(entries)} figures and tables to {where}{os.sep}; open {(where / 'index.html').as_uri()}")
    return 0


def parse_models(text: str) -> list[str]:
    """``"squeezenet1_1,vgg16"`` -> the names; one or two, each known to torchvision (checked by load_model)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not 1 <= len(names) <= 2 or len(set(names)) != len(names):
        raise InputError(f"--models takes one or two different model names, comma-separated, got {text!r} "
                         f"(e.g. --models {DEFAULT_MODELS})")
    return names


def prepare_folder(out: Path, *, force: bool) -> Path:
    """Create ``out``, checked writable; refuse a non-empty folder this command did not make, unless ``force``.

    The marker that lets a later run replace the files is written by ``mark_folder``, once a run has saved
    something (``make_all(..., mark=True)``): a run that fails first leaves none.
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {str(out)!r} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists() and not force:
        raise InputError(f"{str(out)!r} holds files that tpviz figures did not write; choose another --out "
                         "(an empty or new folder), or pass --force to write beside them")
    make_folder(out, "--out")
    return out


def mark_folder(out: Path) -> None:
    """Write the marker that makes ``out`` this command's folder (its files are replaced by later runs)."""
    text = "written by `tpviz figures`; its PNGs, tables and index.html are replaced on each run\n"
    write_file(out / MARKER, text.encode("utf-8"), "the folder's marker", overwrite=True)


def make_all(out: Path, names: list[str], *, device: str, fast: bool, command: str, mark: bool = False) -> list[Entry]:
    """Load the models and the images, run every stage with a progress bar each, and save each stage's
    figures and tables as soon as they are made; the gallery is rewritten after each stage, so an
    interrupted run leaves a gallery of what it finished. ``mark``: write the folder's marker once the first
    stage has been saved (``run`` asks for it in a folder it created, or with ``--force``)."""
    import torch

    from ..course import course_settings
    from ..imagenet.data import load_imagenet_val
    from ..imagenet.images import preprocess
    from ..imagenet.models import describe_model, load_model, resolve_device
    from .progress import StageProgress
    from .stages import StageInputs, describe_settings, stages

    started = time.perf_counter()
    dev = resolve_device(device)
    models = [load_model(name, device=dev) for name in names]
    val = load_imagenet_val()
    settings = course_settings(fast)
    todo = stages(models)
    bar = StageProgress(len(todo))
    run_state = StageInputs(models, val, preprocess(val.images, device=dev), settings)
    summary: dict[str, object] = {
        "command": command, "models": ", ".join(map(describe_model, models)),
        "device": f"{dev} (torch {torch.__version__}, {torch.get_num_threads()} CPU threads)",
        "mode": "FAST (fewer iterations: not the TP's figures)" if fast else "full (the TP's parameters)",
        "settings": describe_settings(settings)}
    entries: list[Entry] = []
    for done, (label, stage) in enumerate(todo, start=1):
        with bar.stage(label) as update:
            made = stage(run_state, update)
        entries += [save(out, artifact, seconds=bar.seconds[label]) for artifact in made]
        if mark and done == 1:
            mark_folder(out)
        progress = "" if done == len(todo) else f" (so far: {done} of {len(todo)} stages)"
        write_index(out, entries, summary={**summary, "total time": f"{time.perf_counter() - started:.0f} s{progress}",
                                           "made": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")})
    return entries


def save(out: Path, artifact: Artifact, *, seconds: float) -> Entry:
    """Save one figure as PNG (its parameters written on it) or one table as text; its gallery entry."""
    import matplotlib.pyplot as plt

    from ..plots.figure import save_figure

    file = None
    if artifact.figure is not None:
        file = f"{artifact.name}.png"
        save_figure(artifact.figure, out / file, params=artifact.params, overwrite=True)
        plt.close(artifact.figure)
    if artifact.table is not None:
        text = f"{artifact.title}\n{artifact.caption}\n\n{artifact.table}\n"
        write_file(out / f"{artifact.name}.txt", text.encode("utf-8"), "a table", overwrite=True)
    return Entry(artifact.number, artifact.title, artifact.caption, artifact.params, artifact.random_models, file,
                 artifact.table, seconds)


def write_index(out: Path, entries: list[Entry], *, summary: dict[str, object]) -> Path:
    """``index.html`` (the gallery) and ``manifest.json`` (the same, for scripts)."""
    random = sorted({name for e in entries for name in e.random_models})
    index = out / "index.html"
    page = render_gallery(entries, title="tpviz: the TP's figures", summary=summary, random_models=random)
    write_file(index, page.encode("utf-8"), "the gallery", overwrite=True)
    manifest = [{"number": e.number, "title": e.title, "file": e.file, "params": {k: str(v) for k, v in e.params.items()},
                 "random_models": list(e.random_models), "seconds": e.seconds} for e in entries]
    text = json.dumps({"summary": summary, "figures": manifest}, indent=1) + "\n"
    write_file(out / "manifest.json", text.encode("utf-8"), "the manifest", overwrite=True)
    return index


def command_line(args: argparse.Namespace, *, fast: bool) -> str:
    """The command that reproduces this run."""
    words = ["tpviz", "figures", "--out", str(args.out), "--models", args.models, "--device", args.device]
    return " ".join(map(shlex.quote, words + (["--fast"] if fast else [])))
