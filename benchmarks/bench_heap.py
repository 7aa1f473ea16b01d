"""Benchmark: a class-visualization iteration with heap.kept() (tpviz) and with glibc's own malloc behaviour.

    python benchmarks/bench_heap.py [--rounds 4] [--steps 41] [--model squeezenet1_1]

Each round runs two fresh processes one after the other (which goes first alternates): one as tpviz runs,
one inside heap.glibc_default() from its start. Each prints ms per iteration ((a call of S iterations - a
call of 1) / (S - 1), median of 3) and page faults per iteration. glibc's own behaviour depends on how the
heap happens to be laid out, so it differs from process to process: hence rounds, all printed. Wall time
is noisy on a shared machine, so a last fresh process also prints what one page fault costs here: a loop
that allocates and frees 4 x 6 MB per step, timed with every block mmapped afresh (glibc's initial
threshold, held) and then inside heap.kept().
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import time

from _timing import alternating, benchmark_model, child_line, per_iteration

import tpviz
from tpviz.algorithms import heap


def minor_faults() -> float:
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)


def one(steps: int, name: str) -> dict[str, float]:
    model, _ = benchmark_model(name, "cpu")
    tpviz.class_visualization(model, "snail", iterations=3)
    per = per_iteration(lambda n: tpviz.class_visualization(model, "snail", iterations=n), steps, 3,
                        counters={"s": time.perf_counter, "faults": minor_faults})
    return {"ms": 1000 * per["s"], "faults": per["faults"]}


def fault_cost() -> dict[str, float]:
    """Microseconds per page fault, and faults per step without kept(): the same steps with and without faults,
    side by side in this process."""
    import torch

    def step() -> None:
        blocks = [torch.ones(1_500_000) for _ in range(4)]
        del blocks

    def per_step() -> tuple[float, float]:
        for _ in range(6):
            step()
        f0, t0 = minor_faults(), time.perf_counter()
        for _ in range(30):
            step()
        return (time.perf_counter() - t0) / 30, (minor_faults() - f0) / 30

    heap._glibc().mallopt(heap._M_MMAP_THRESHOLD, 128 * 1024)  # held at glibc's initial value
    slow, faults = per_step()
    with heap.kept():
        fast, kept_faults = per_step()
    return {"us_per_fault": 1e6 * (slow - fast) / (faults - kept_faults), "faults": faults}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=41)
    ap.add_argument("--model", default="squeezenet1_1")
    ap.add_argument("--child", choices=["kept", "default", "cost"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "cost":
        print(json.dumps(fault_cost()))
        return
    if args.child:
        with heap.glibc_default() if args.child == "default" else contextlib.nullcontext():
            print(json.dumps(one(args.steps, args.model)))
        return
    if not heap.applies():
        print("heap.kept() changes nothing here (not glibc, or MALLOC_*_/GLIBC_TUNABLES set): nothing to compare")
        return
    env = {**os.environ, "TPVIZ_ALLOW_RANDOM_WEIGHTS": "1"}
    rows: dict[str, list[dict[str, float]]] = {"kept": [], "default": []}
    for order in alternating(("kept", "default"), args.rounds):
        for which in order:
            rows[which].append(json.loads(child_line([__file__, "--child", which, "--steps", str(args.steps),
                                                  "--model", args.model], env=env)))
    print(f"one class-visualization iteration, {args.model}, batch 1, CPU, {args.rounds} rounds of two fresh processes")
    for child, label in (("kept", "tpviz (heap.kept)"), ("default", "glibc's own malloc behaviour")):
        ms = ", ".join(f"{row['ms']:.1f}" for row in rows[child])
        faults = ", ".join(f"{row['faults']:.0f}" for row in rows[child])
        print(f"  {label:30s} ms/iteration: {ms}   page faults/iteration: {faults}")
    ratios = [k["ms"] / d["ms"] for k, d in zip(rows["kept"], rows["default"])]
    print(f"  ratio kept / default, per round: {', '.join(f'{x:.2f}' for x in ratios)}   "
          f"median {statistics.median(ratios):.2f}")
    measured = json.loads(child_line([__file__, "--child", "cost"], env=env))
    cost = measured["us_per_fault"]
    saved = [cost * (d["faults"] - k["faults"]) / 1000 for k, d in zip(rows["kept"], rows["default"])]
    print(f"  one page fault costs {cost:.2f} us here (4 x 6 MB freed per step: {measured['faults']:.0f} faults per "
          f"step without kept, vs kept): the faults avoided are worth {', '.join(f'{x:.2f}' for x in saved)} "
          "ms/iteration")


if __name__ == "__main__":
    main()
