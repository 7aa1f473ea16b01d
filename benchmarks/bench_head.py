"""Benchmark: what computing only the target's score (tpviz/algorithms/head.py) and the hand-written backward
(tpviz/algorithms/handgrad.py) save, at batch 1 and in a batch.

    python benchmarks/bench_head.py [--repeats 4] [--batch 9]

One class-visualization iteration of SqueezeNet ((a call of 12 iterations - a call of 2) / 10), at batch 1
(``class_visualization``) and at batch ``--batch`` (a ``sweep`` over that many learning rates): as tpviz runs
it (one-class head, backward by hand, 1x1 convolutions as matrix products), with the forward's convolutions
run as modules (``handgrad.conv_forward()``), with autograd's backward (``handgrad.autograd_only()``) and with
all 1000 scores (``head.all_scores()``, which runs autograd too), alternating (``_timing.timed``), median of
``--repeats``. The last lines say how much batching gains in each mode (per image in the batch / batch 1).
"""

from __future__ import annotations

import argparse
import contextlib
from functools import partial

import torch
from _timing import benchmark_model, timed

import tpviz
from tpviz.algorithms import handgrad, head

MODES = ("by hand", "autograd", "all 1000 scores", "conv forward")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--batch", type=int, default=9)
    args = ap.parse_args()
    model, device = benchmark_model("squeezenet1_1", "cpu")
    print(f"{tpviz.describe_model(model)} on {device} ({torch.get_num_threads()} threads), torch {torch.__version__}")

    def run(n: int, iterations: int, mode: str) -> None:
        block = {MODES[1]: handgrad.autograd_only, MODES[2]: head.all_scores,
                 MODES[3]: handgrad.conv_forward}.get(mode, contextlib.nullcontext)
        with block():
            if n == 1:
                tpviz.class_visualization(model, "snail", iterations=iterations)
            else:
                tpviz.sweep(model, "snail", lr=[1.0 + i for i in range(n)], iterations=iterations)

    cases = [(mode, n) for mode in MODES for n in (1, args.batch)]
    fns = {f"{mode} {n} {its}": partial(run, n, its, mode) for mode, n in cases for its in (2, 12)}
    med = timed(fns, args.repeats, device)  # alternating, one warm-up each
    per = {(mode, n): (med[f"{mode} {n} 12"] - med[f"{mode} {n} 2"]) / 10 * 1000 for mode, n in cases}  # ms/iteration
    for n in (1, args.batch):
        hand, auto, every, conv = (per[(mode, n)] for mode in MODES)
        print(f"  batch {n}: one class by hand {hand:7.1f} ms/iteration   one class autograd {auto:7.1f}   "
              f"all 1000 scores {every:7.1f}   by hand, conv forward {conv:7.1f}   by hand / autograd x{hand / auto:.2f}"
              f"   one class / all scores (autograd) x{auto / every:.2f}   matmul / conv forward x{hand / conv:.2f}")
    for mode in MODES:
        print(f"  {mode:16s} per image in a batch of {args.batch} / batch 1 = "
              f"{per[(mode, args.batch)] / args.batch / per[(mode, 1)]:.3f}")


if __name__ == "__main__":
    main()
