"""Benchmark: batched fooling images vs separate calls, and the cost of one PGD step, same run.

    python benchmarks/bench_attacks.py [--repeats 5] [--batch 16] [--steps 4] [--device auto]

(a) tpviz.fooling_image of val image 2 towards 5 fixed targets in one batched call vs 5 separate calls.
    A batched call retires each image when it is fooled, so its cost follows the per-target iteration
    counts (printed): it should never be slower on a CPU, and win clearly on a GPU.
(b) One PGD step vs a bare forward + input-gradient backward of the same batch (frozen model,
    torch.autograd.grad). A pgd call of S steps takes S gradients, then a forward of the last point and one of
    the 8-bit rounded result, so
    one step is measured as the difference of a call with S steps and a call with 1 step, divided by
    S - 1 (target: <= 1.10x bare). The whole pgd(steps=1) call is shown too.
Timings alternate between the contenders so that machine noise hits them alike; medians are printed.
Uses real SqueezeNet weights when TPVIZ_WEIGHTS_DIR has them (random ones otherwise: speed does not
depend on the weights).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _timing import bare, benchmark_model, timed

import tpviz

TARGETS = ["bulbul", "goldfish", "daisy", "sports car", "teapot"]
IMAGE = 2  # Tibetan mastiff


def image(device: torch.device) -> torch.Tensor:
    try:
        pixels = tpviz.load_imagenet_val(count=IMAGE + 1).images[IMAGE:IMAGE + 1]
    except tpviz.DataError:
        print("(no imagenet_val_25.npz: a random image instead of val image 2)")
        pixels = np.random.default_rng(0).integers(0, 256, (1, 224, 224, 3), dtype=np.uint8)
    return tpviz.preprocess(pixels, device=device)


def bench_batched(model: torch.nn.Module, device: torch.device, repeats: int) -> None:
    x0 = image(device)
    targets = [tpviz.class_index(t) for t in TARGETS]
    batched = tpviz.fooling_image(model, x0, targets)
    separate = [tpviz.fooling_image(model, x0, t) for t in targets]
    print(f"(a) fooling_image, val image {IMAGE} towards {len(targets)} targets, median of {repeats}")
    print(f"  iterations batched  {batched.iterations.tolist()}  (a batch step costs what its active images cost)")
    print(f"  iterations separate {[int(r.iterations[0]) for r in separate]}")
    med = timed({"batched": lambda: tpviz.fooling_image(model, x0, targets),
                 "separate": lambda: [tpviz.fooling_image(model, x0, t) for t in targets]}, repeats, device)
    print(f"  one batched call     {med['batched'] * 1000:8.1f} ms")
    print(f"  {len(targets)} separate calls     {med['separate'] * 1000:8.1f} ms")
    ratio = med["separate"] / med["batched"]
    verdict = "OK" if ratio >= 1.0 else "BATCHED IS SLOWER"
    print(f"  ratio separate / batched = {ratio:.3f} (want >= 1 on CPU, clearly > 1 on GPU): {verdict}")


def bench_pgd_step(model: torch.nn.Module, device: torch.device, batch: int, steps: int, repeats: int) -> None:
    gen = torch.Generator().manual_seed(0)
    x = tpviz.preprocess(torch.randint(0, 256, (batch, 224, 224, 3), generator=gen, dtype=torch.uint8), device=device)
    y = torch.randint(0, 1000, (batch,), generator=gen).to(device)
    eps = 1 / 255  # small: no image may reach its target early, or the step count would drop

    def run(s: int) -> tpviz.AttackResult:
        return tpviz.pgd(model, x, y, eps=eps, steps=s, random_start=False)

    done = run(steps).iterations
    med = timed({"bare": lambda: bare(model, x, y), "one": lambda: run(1), "many": lambda: run(steps)},
                repeats, device)
    per_step = (med["many"] - med["one"]) / (steps - 1)
    print(f"(b) pgd, batch {batch}, median of {repeats}")
    if bool((done != steps).any()):
        print(f"  warning: some images stopped early ({done.tolist()}): the per-step figure is an underestimate")
    print(f"  bare forward+input-grad           {med['bare'] * 1000:8.1f} ms   x1.000")
    print(f"  pgd(steps=1), whole call          {med['one'] * 1000:8.1f} ms   x{med['one'] / med['bare']:.3f}"
          "  (1 gradient evaluation + 2 forwards: last check, rounded image)")
    print(f"  pgd(steps={steps}), whole call          {med['many'] * 1000:8.1f} ms   x{med['many'] / med['bare']:.3f}")
    ratio = per_step / med["bare"]
    verdict = "OK" if ratio <= 1.10 else "NOT OK"
    print(f"  one PGD step = (steps={steps} - steps=1) / {steps - 1} = {per_step * 1000:.1f} ms")
    print(f"  ratio one PGD step / bare = {ratio:.3f} (target <= 1.10): {verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16, help="batch of the PGD-step benchmark")
    ap.add_argument("--steps", type=int, default=4, help="PGD steps of the longer call (>= 2)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--model", default="squeezenet1_1")
    args = ap.parse_args()
    if args.steps < 2:
        ap.error("--steps must be at least 2")

    model, device = benchmark_model(args.model, args.device)
    print(f"{tpviz.describe_model(model)} on {device} ({torch.get_num_threads()} threads), torch {torch.__version__}")
    bench_batched(model, device, args.repeats)
    bench_pgd_step(model, device, args.batch, args.steps, args.repeats)


if __name__ == "__main__":
    main()
