"""Benchmark: the TP's three class-visualization sweeps batched vs one by one, and the cost of one iteration.

    python benchmarks/bench_classviz.py [--scale 1] [--repeats 1] [--device auto]

(a) The TP's sweeps (Figures 5-7) for "snail": lr [1,3,5,7,9] at 200 iterations; iterations
    [100,200,300,400,500] at lr 5; L2 [1e-4,1e-3,1e-2,1e-1,1] at 200 iterations. Batched: three
    tpviz.sweep calls (each lr/L2 a sample of one batch; the iteration counts snapshots of one run), and
    one tpviz.axis_sweeps call (the 9 distinct settings in one batch, each stopping when done). One by
    one: 15 tpviz.class_visualization calls, one per setting. Prints all three and the ratios
    (aim: >= 1.8 on 2 CPU cores). ``--scale k`` divides every iteration count by k for a quick look.
(b) One iteration of tpviz.class_visualization (batch 1, 224x224) vs a bare forward + input-gradient
    backward: (a call of S iterations - a call of 1) / (S - 1), so the final evaluation forward is not
    counted (target: <= 1.05x bare).
Uses real SqueezeNet weights when TPVIZ_WEIGHTS_DIR has them, random ones otherwise (same speed).
"""

from __future__ import annotations

import argparse

import torch
from _timing import bare, benchmark_model, timed

import tpviz

LRS = [1.0, 3.0, 5.0, 7.0, 9.0]
ITERATIONS = [100, 200, 300, 400, 500]
L2S = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]


def bench_sweeps(model: torch.nn.Module, device: torch.device, scale: int, repeats: int) -> None:
    its = [max(1, i // scale) for i in ITERATIONS]
    base = its[1]  # 200 at scale 1

    def one_batch() -> None:
        tpviz.axis_sweeps(model, "snail", lr=LRS, l2_reg=L2S, iterations=its, base_iterations=base)

    def three_sweeps() -> None:
        tpviz.sweep(model, "snail", lr=LRS, iterations=base)
        tpviz.sweep(model, "snail", iterations=its)
        tpviz.sweep(model, "snail", l2_reg=L2S, iterations=base)

    def one_by_one() -> None:
        for lr in LRS:
            tpviz.class_visualization(model, "snail", lr=lr, iterations=base)
        for n in its:
            tpviz.class_visualization(model, "snail", iterations=n)
        for l2 in L2S:
            tpviz.class_visualization(model, "snail", l2_reg=l2, iterations=base)

    work = {"axis_sweeps": (len(LRS) + len(L2S) - 1) * base + max(its) - base,
            "three sweeps": len(LRS) * base + max(its) + len(L2S) * base,
            "one by one": len(LRS) * base + sum(its) + len(L2S) * base}
    med = timed({"axis_sweeps": one_batch, "three sweeps": three_sweeps, "one by one": one_by_one}, repeats, device)
    print(f"(a) the TP's three sweeps, iterations {its} (scale 1/{scale}), median of {repeats}")
    print(f"  batched: one axis_sweeps call   {med['axis_sweeps']:8.1f} s   ({work['axis_sweeps']} image-iterations)")
    print(f"  batched: three sweep calls      {med['three sweeps']:8.1f} s   ({work['three sweeps']} image-iterations)")
    print(f"  one by one: 15 calls            {med['one by one']:8.1f} s   ({work['one by one']} image-iterations)")
    for name in ("axis_sweeps", "three sweeps"):
        ratio = med["one by one"] / med[name]
        verdict = "OK" if ratio >= 1.8 else "BELOW AIM"
        print(f"  ratio one-by-one / {name:12s} = {ratio:.2f} (aim >= 1.8 on 2 CPU cores): {verdict}")


def bench_iteration(model: torch.nn.Module, device: torch.device, steps: int, repeats: int) -> None:
    x = tpviz.start_image(None, device=device)
    y = torch.tensor([tpviz.class_index("snail")], device=device)

    def run(n: int) -> None:
        tpviz.class_visualization(model, "snail", iterations=n)

    med = timed({"bare": lambda: bare(model, x, y), "one": lambda: run(1), "many": lambda: run(steps)},
                repeats, device)
    per_iteration = (med["many"] - med["one"]) / (steps - 1)
    ratio = per_iteration / med["bare"]
    verdict = "OK" if ratio <= 1.05 else "ABOVE TARGET"
    print(f"(b) one class-visualization iteration, batch 1, median of {repeats}")
    print(f"  bare forward+input-grad        {med['bare'] * 1000:8.1f} ms   x1.000")
    print(f"  one iteration                  {per_iteration * 1000:8.1f} ms   x{ratio:.3f}  "
          f"((iterations={steps} - iterations=1) / {steps - 1})")
    print(f"  ratio one iteration / bare = {ratio:.3f} (target <= 1.05): {verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=1, help="divide every iteration count by this, for a quick look")
    ap.add_argument("--repeats", type=int, default=1, help="repeats of (a); (b) uses 9x as many")
    ap.add_argument("--steps", type=int, default=41, help="iterations of the longer call in (b)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--model", default="squeezenet1_1")
    args = ap.parse_args()
    model, device = benchmark_model(args.model, args.device)
    print(f"{tpviz.describe_model(model)} on {device} ({torch.get_num_threads()} threads), torch {torch.__version__}")
    bench_iteration(model, device, args.steps, 9 * args.repeats)
    bench_sweeps(model, device, args.scale, args.repeats)


if __name__ == "__main__":
    main()
