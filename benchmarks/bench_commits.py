"""Benchmark: tpviz's class-visualization iteration at two commits, side by side on this machine.

    python benchmarks/bench_commits.py --base REV [--head REV] [--rounds 6] [--steps 41] [--repeats 5] [--batch 1]
                                       [--threads 0] [--clock wall|cpu]
                                       [--model squeezenet1_1]

Extracts each commit's ``tpviz/`` (``git archive``) into a temporary folder. Each round runs two fresh
processes one after the other, which goes first alternating, each importing tpviz from its own tree (same
Python, same torch). Each prints ms per image-iteration of ``tpviz.sweep`` over ``--batch`` learning rates
((a call of S iterations - a call of 1) / (S - 1), the fastest of ``--repeats``, divided by the batch:
noise only ever slows a run down). Prints every round's pair and ratio, then the median ratio (head / base:
below 1 means head is faster). ``--head`` defaults to the working tree. Wall time is noisy on a shared
machine (the rounds show how much); ``--clock cpu --threads 1`` times the process's CPU time on one thread,
which time taken by other tenants does not inflate: the work itself, not what two cores make of it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import alternating, benchmark_model, child_line, per_iteration

ROOT = Path(__file__).resolve().parent.parent


def one(steps: int, batch: int, repeats: int, model: str, threads: int, clock: str) -> dict[str, object]:
    """Runs in a fresh process whose sys.path starts with one commit's tree."""
    import torch

    import tpviz

    if threads:
        torch.set_num_threads(threads)
    net, _ = benchmark_model(model, "cpu")
    lrs = [1 + i for i in range(batch)]
    tpviz.sweep(net, "snail", lr=lrs, iterations=3)
    per = per_iteration(lambda n: tpviz.sweep(net, "snail", lr=lrs, iterations=n), steps, repeats,
                        counters={"s": time.process_time if clock == "cpu" else time.perf_counter}, pick=min)
    return {"ms": 1000 * per["s"] / batch, "tpviz": str(Path(tpviz.__file__).parent.parent)}


def extract(rev: str, into: Path) -> Path:
    """``rev``'s tpviz/ under ``into``; the working tree itself for ``rev`` None."""
    if rev is None:
        return ROOT
    found = subprocess.run(["git", "rev-parse", "--short", "--verify", f"{rev}^{{commit}}"], cwd=ROOT,
                           capture_output=True, text=True)
    if found.returncode != 0:
        sys.exit(f"bench_commits: {rev!r} is not a commit of this repository (git log --oneline lists them)")
    sha = found.stdout.strip()
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", sha, "tpviz"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run(tree: Path, args: argparse.Namespace) -> float:
    """ms per image-iteration of ``tree``'s tpviz, in a fresh process."""
    knobs = {k: getattr(args, k) for k in ("steps", "batch", "repeats", "model", "threads", "clock")}
    code = (f"import json, sys; sys.path[:0] = [{str(tree)!r}, {str(ROOT / 'benchmarks')!r}]; import bench_commits; "
            "print(json.dumps(bench_commits.one(**json.loads(sys.argv[1]))))")
    got = json.loads(child_line(["-c", code, json.dumps(knobs)]))
    assert Path(got["tpviz"]) == tree, f"imported tpviz from {got['tpviz']}, not {tree}"
    return float(got["ms"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the commit to compare with (e.g. HEAD~1)")
    ap.add_argument("--head", default=None, help="the commit to measure (default: the working tree)")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--steps", type=int, default=41)
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per process; the fastest counts")
    ap.add_argument("--batch", type=int, default=1, help="images per call (tpviz.sweep over that many lrs)")
    ap.add_argument("--model", default="squeezenet1_1")
    ap.add_argument("--threads", type=int, default=0, help="torch threads in each process (0: torch's default)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: the process's CPU time, which time taken by other tenants of the machine does not "
                         "inflate (with --threads 1 it is the work itself)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"base": extract(args.base, Path(tmp) / "base"), "head": extract(args.head, Path(tmp) / "head")}
        print(f"{args.model}, batch {args.batch}, {args.threads or 'default'} threads, {args.clock} clock, "
              f"ms per image-iteration; base {args.base}, head {args.head or 'working tree'}")
        ratios = []
        for r, order in enumerate(alternating(("base", "head"), args.rounds)):
            ms = {which: run(trees[which], args) for which in order}
            ratios.append(ms["head"] / ms["base"])
            print(f"  round {r + 1}: base {ms['base']:6.2f}  head {ms['head']:6.2f}  head/base {ratios[-1]:.3f}")
        print(f"  median head/base {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")


if __name__ == "__main__":
    main()
