"""Benchmark: what computing only the target's score (tpviz/algorithms/head.py) saves, at batch 1 and in a batch.

    python benchmarks/bench_head.py [--repeats 4] [--batch 9]

One class-visualization iteration of SqueezeNet ((a call of 12 iterations - a call of 2) / 10), at batch 1
(``class_visualization``) and at batch ``--batch`` (a ``sweep`` over that many learning rates), with the
one-class head and with all 1000 scores (``head.all_scores()``), alternating (``_timing.timed``), median of
``--repeats``. The last lines say whether batching gains as much with the one-class head as without (per image in
the batch / batch 1).
"""

from __future__ import annotations

import argparse
import contextlib
from functools import partial

import torch
from _timing import benchmark_model, timed

import tpviz
from tpviz.algorithms import head

MODES = ("one class", "all 1000 scores")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--batch", type=int, default=9)
    args = ap.parse_args()
    model, device = benchmark_model("squeezenet1_1", "cpu")
    print(f"{tpviz.describe_model(model)} on {device} ({torch.get_num_threads()} threads), torch {torch.__version__}")

    def run(n: int, iterations: int, all_scores: bool) -> None:
        with head.all_scores() if all_scores else contextlib.nullcontext():
            if n == 1:
                tpviz.class_visualization(model, "snail", iterations=iterations)
            else:
                tpviz.sweep(model, "snail", lr=[1.0 + i for i in range(n)], iterations=iterations)

    cases = [(mode, n) for mode in MODES for n in (1, args.batch)]
    fns = {f"{mode} {n} {its}": partial(run, n, its, mode == MODES[1]) for mode, n in cases for its in (2, 12)}
    med = timed(fns, args.repeats, device)  # alternating, one warm-up each
    per = {(mode, n): (med[f"{mode} {n} 12"] - med[f"{mode} {n} 2"]) / 10 * 1000 for mode, n in cases}  # ms/iteration
    for n in (1, args.batch):
        one, every = per[(MODES[0], n)], per[(MODES[1], n)]
        print(f"  batch {n}: one class {one:7.1f} ms/iteration   all 1000 scores {every:7.1f}   x{one / every:.2f}")
    for mode in MODES:
        print(f"  {mode:16s} per image in a batch of {args.batch} / batch 1 = "
              f"{per[(mode, args.batch)] / args.batch / per[(mode, 1)]:.3f}")


if __name__ == "__main__":
    main()
