"""How long each notebook and each of its long cells takes, in full mode (or fast with --fast).

Runs copies of the notebooks (the repository's files are never written) in a fresh kernel, one at a time,
and prints each code cell that took at least --min seconds, with its first line, then the total.
``--plain-layout`` runs them with the caller's model as it is (no channels_last copy): the "before" of the
memory-layout work, on the same notebook. ``--reference`` runs every reference path of issue 15's work: the plain
layout, all 1000 class scores (``head.all_scores()``), autograd's backward (``handgrad.autograd_only()``) and glibc's
own malloc behaviour (``heap.glibc_default()``, from the kernel's start); only
the explorer worker's single OpenMP thread stays (it is not a switch). The weights and images come from
TPVIZ_WEIGHTS_DIR / TPVIZ_DATA_DIR.

    python benchmarks/notebook_times.py notebooks/03_class_visualization.ipynb
    python benchmarks/notebook_times.py --plain-layout notebooks/03_class_visualization.ipynb
    python benchmarks/notebook_times.py --reference notebooks/03_class_visualization.ipynb
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
# Each block is entered on an ExitStack kept in the kernel: a context manager entered without a reference left to it
# is garbage-collected at once, which closes its generator and restores the switch (the first version did that,
# so its "plain layout" runs ran tpviz's layout).
PLAIN = ("import contextlib as _contextlib  # benchmark only: the reference paths, as before\n"
         "from tpviz.algorithms import layout as _layout\n"
         "_reference = _contextlib.ExitStack()\n"
         "_reference.enter_context(_layout.plain())\n"
         "assert not _layout._channels_last.on")
REFERENCE = PLAIN + ("\nfrom tpviz.algorithms import handgrad as _handgrad, head as _head, heap as _heap\n"
                     "_reference.enter_context(_head.all_scores())\n"
                     "_reference.enter_context(_handgrad.autograd_only())\n"
                     "_reference.enter_context(_heap.glibc_default())\n"
                     "assert not _head._one_class.on and not _handgrad._by_hand.on and not _heap._keep.on")


def cell_times(path: Path, *, fast: bool, first: str | None, timeout: int) -> list[tuple[int, str, float]]:
    """(index in the notebook, first line, seconds) of each code cell, run top to bottom in a fresh kernel, after
    the cell ``first`` when given (not listed)."""
    nb = nbformat.read(path, as_version=4)
    if first:
        nb.cells.insert(0, nbformat.v4.new_code_cell(first))
    env_fast = os.environ.pop("TPVIZ_FAST", None)
    if fast:
        os.environ["TPVIZ_FAST"] = "1"
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    finally:
        os.environ.pop("TPVIZ_FAST", None)
        if env_fast is not None:
            os.environ["TPVIZ_FAST"] = env_fast
    times = []
    for i, cell in enumerate(nb.cells[1:] if first else nb.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type != "code" or "iopub.execute_input" not in timing:
            continue
        start, end = (_seconds(timing[k]) for k in ("iopub.execute_input", "shell.execute_reply"))
        times.append((i, cell.source.splitlines()[0] if cell.source else "", end - start))
    return times


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path, default=sorted((ROOT / "notebooks").glob("0*.ipynb")))
    ap.add_argument("--fast", action="store_true", help="fast mode (TPVIZ_FAST=1) instead of full")
    ap.add_argument("--plain-layout", action="store_true", help="run the models as they are (no channels_last copy)")
    ap.add_argument("--reference", action="store_true",
                    help="plain layout, all 1000 scores, autograd's backward, glibc's malloc: before issue 15")
    ap.add_argument("--min", type=float, default=2.0, help="list the cells that took at least this many seconds")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
    args = ap.parse_args()
    import torch

    mode = "fast" if args.fast else "full"
    layout = ("reference paths (plain layout, all 1000 scores, autograd's backward, glibc's malloc)" if args.reference
              else "plain layout" if args.plain_layout else "tpviz's layout")
    first = REFERENCE if args.reference else PLAIN if args.plain_layout else None
    print(f"{mode} mode, {layout}, torch {torch.__version__}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')}")
    for path in args.notebooks:
        started = time.perf_counter()
        times = cell_times(path, fast=args.fast, first=first, timeout=args.timeout)
        wall = time.perf_counter() - started
        print(f"{path.name}: {wall:.0f} s in all (kernel start included), cells {sum(t for *_, t in times):.0f} s")
        for i, first, seconds in times:
            if seconds >= args.min:
                print(f"  cell {i:2d}  {seconds:6.1f} s  {first[:90]}")


if __name__ == "__main__":
    main()
