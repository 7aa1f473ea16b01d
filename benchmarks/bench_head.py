"""Benchmark: what computing only the target's score (tpviz/algorithms/head.py) saves, at batch 1 and in a batch.

    python benchmarks/bench_head.py [--repeats 4] [--batch 9]

One class-visualization iteration of SqueezeNet ((a call of 12 iterations - a call of 2) / 10), at batch 1
(``class_visualization``) and at batch ``--batch`` (a ``sweep`` over that many learning rates), with the
one-class head and with all 1000 scores (``head.all_scores()``), alternating, median of ``--repeats``. The last
lines say whether batching gains as much with the one-class head as without (per image in the batch / batch 1).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch
from _timing import benchmark_model

import tpviz
from tpviz.algorithms import head


def per_iteration(model: torch.nn.Module, n: int, *, all_scores: bool) -> float:
    """Milliseconds per iteration of a batch of ``n`` images."""

    def run(iterations: int) -> float:
        t0 = time.perf_counter()
        if n == 1:
            tpviz.class_visualization(model, "snail", iterations=iterations)
        else:
            tpviz.sweep(model, "snail", lr=[1.0 + i for i in range(n)], iterations=iterations)
        return time.perf_counter() - t0

    with head.all_scores() if all_scores else contextlib.nullcontext():
        run(2)  # warm-up
        return (run(12) - run(2)) / 10 * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--batch", type=int, default=9)
    args = ap.parse_args()
    model, device = benchmark_model("squeezenet1_1", "cpu")
    print(f"{tpviz.describe_model(model)} on {device} ({torch.get_num_threads()} threads), torch {torch.__version__}")
    times: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.repeats):
        for mode in ("one class", "all 1000 scores"):
            for n in (1, args.batch):
                times.setdefault((mode, n), []).append(per_iteration(model, n, all_scores=mode != "one class"))
    med = {k: statistics.median(v) for k, v in times.items()}
    for n in (1, args.batch):
        one, every = med[("one class", n)], med[("all 1000 scores", n)]
        print(f"  batch {n}: one class {one:7.1f} ms/iteration   all 1000 scores {every:7.1f}   x{one / every:.2f}")
    for mode in ("one class", "all 1000 scores"):
        gain = med[(mode, args.batch)] / args.batch / med[(mode, 1)]
        print(f"  {mode:16s} per image in a batch of {args.batch} / batch 1 = {gain:.3f}")


if __name__ == "__main__":
    main()
