"""Benchmark: one class-visualization iteration against its peers and the FLOP floor, the TP's sweeps batched
vs one by one, the explorer's first image, and peak memory.

    python benchmarks/bench_classviz.py [--scale 1] [--repeats 1] [--device auto] [--skip-memory]
                                       [--parts iteration,sweeps,explorer,memory]

(a) The TP's sweeps (Figures 5-7) for "snail": lr [1,3,5,7,9] at 200 iterations; iterations
    [100,200,300,400,500] at lr 5; L2 [1e-4,1e-3,1e-2,1e-1,1] at 200 iterations. Batched: three
    tpviz.sweep calls (each lr/L2 a sample of one batch; the iteration counts snapshots of one run), and
    one tpviz.axis_sweeps call (the 9 distinct settings in one batch, each stopping when done). One by
    one: 15 tpviz.class_visualization calls, one per setting. Prints all three and the ratios
    (aim: >= 2.5 on 2 CPU cores, >= 5 on a GPU). ``--scale k`` divides every iteration count by k for a quick look.
(b) One iteration of tpviz.class_visualization (batch 1, 224x224; (a call of S iterations - a call of 1) /
    (S - 1), so fixed costs are not counted), in the same run, alternating: the same in the plain layout
    (layout.plain()), the same computing all 1000 scores (head.all_scores()), the same with autograd's backward
    instead of the hand-written one (handgrad.autograd_only()), torch-lucent's render_vis
    (README defaults, frozen model; `make bench` installs it), a minimal CS231n loop, a bare forward + input
    gradient, and the FLOP floor: 2 x the forward's FLOPs at the rate of the model's largest convolution (20
    calls in a row, alternating with the rest, the fastest run of its faster layout: channels_last or plain),
    also for the one class tpviz computes.
    Goals: <= 0.55x lucent, <= 3x the floor.
(c) The explorer (background, the TP's grid, never scaled): seconds to its first image (goal: <= 5 s) and to the
    whole grid; to the first image computing all 1000 class scores (head.all_scores(), as before head.py); and to
    the first image so far, which the explorer shows while the first image grows.
(d) Peak RSS of a class visualization and of the explorer's grid, SqueezeNet and VGG16 (random weights when
    absent), each in its own process (goals: <= 1.0 GB SqueezeNet grid, <= 1.8 GB VGG16 class visualization).
Uses real SqueezeNet weights when TPVIZ_WEIGHTS_DIR has them, random ones otherwise (same speed).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time

import torch
from _peers import conv_floor, forward_flops, largest_conv, lucent_run, minimal_loop, peak_rss_mb
from _timing import bare, benchmark_model, child_line, timed

import tpviz
from tpviz.algorithms import handgrad, head, layout
from tpviz.course import TP

LRS = [1.0, 3.0, 5.0, 7.0, 9.0]
ITERATIONS = [100, 200, 300, 400, 500]
PARTS = ("iteration", "sweeps", "explorer", "memory")  # --parts
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
    aim, where = (5.0, "on a GPU") if device.type == "cuda" else (2.5, "on 2 CPU cores")
    for name in ("axis_sweeps", "three sweeps"):
        ratio = med["one by one"] / med[name]
        verdict = "OK" if ratio >= aim else "BELOW AIM"
        print(f"  ratio one-by-one / {name:12s} = {ratio:.2f} (aim >= {aim:g} {where}): {verdict}")


def bench_iteration(model: torch.nn.Module, device: torch.device, steps: int, repeats: int) -> None:
    x = tpviz.start_image(None, device=device)
    y = torch.tensor([tpviz.class_index("snail")], device=device)
    frozen = model.eval().requires_grad_(False)  # lucent's README model is frozen; tpviz freezes for the call

    def tpviz_run(n: int) -> None:
        tpviz.class_visualization(model, "snail", iterations=n)

    def plain_run(n: int) -> None:
        with layout.plain():
            tpviz_run(n)

    def all_scores_run(n: int) -> None:
        with head.all_scores():
            tpviz_run(n)

    def autograd_run(n: int) -> None:
        with handgrad.autograd_only():
            tpviz_run(n)

    peers = {"tpviz": tpviz_run, "tpviz, plain layout": plain_run, "tpviz, all 1000 scores": all_scores_run,
             "tpviz, autograd backward": autograd_run,
             "lucent render_vis": lambda n: lucent_run(frozen, n),
             "minimal CS231n loop": lambda n: minimal_loop(frozen, n)}
    conv_runs, conv_flops, conv = largest_conv(model, device)
    fns = {"bare": lambda: bare(model, x, y), **{f"largest conv, {k}": run for k, run in conv_runs.items()}}
    for name, run in peers.items():
        fns[f"{name} 1"], fns[f"{name} S"] = (lambda run=run: run(1)), (lambda run=run: run(steps))
    med = timed(fns, repeats, device, best=tuple(f"largest conv, {k}" for k in conv_runs))
    per = {name: (med[f"{name} S"] - med[f"{name} 1"]) / (steps - 1) for name in peers}
    rates = {k: conv_flops / med[f"largest conv, {k}"] / 1e9 for k in conv_runs}  # GFLOP/s, each layout's best run
    layout_best = max(rates, key=rates.__getitem__)
    rate = rates[layout_best]  # the floor: the faster layout's best run, alternating with the iterations
    floor = 2 * forward_flops(model, device) / (rate * 1e9)
    with tpviz.frozen_eval(model):
        scorer, _ = head.only_classes(model, y)  # what tpviz computes: the snail's score only (head.py)
    floor_one = 2 * forward_flops(scorer, device) / (rate * 1e9)
    convs = conv_floor(model, device)
    print(f"(b) one class-visualization iteration, batch 1, median of {repeats}, same run, alternating "
          f"((iterations={steps} - iterations=1) / {steps - 1})")
    for name, seconds in per.items():
        print(f"  {name:28s} {seconds * 1000:7.1f} ms   x{seconds / per['tpviz']:.2f} tpviz")
    print(f"  {'bare forward+input-grad':28s} {med['bare'] * 1000:7.1f} ms   (plain layout)")
    print(f"  {'FLOP floor':28s} {floor * 1000:7.1f} ms   (2 x forward FLOPs at {rate:.0f} GFLOP/s, {conv}, "
          f"{layout_best}; " + ", ".join(f"{k} {r:.0f}" for k, r in rates.items()) + " GFLOP/s)")
    print(f"  {'FLOP floor, one class':28s} {floor_one * 1000:7.1f} ms   (the same for the work tpviz does: the last "
          "conv's snail row only, head.py)")
    print(f"  {'convolutions alone':28s} {convs * 1000:7.1f} ms   (each conv's forward + input gradient timed alone, "
          f"summed: x{convs / floor:.2f} the FLOP floor)")
    for what, ratio, goal in (("tpviz / lucent", per["tpviz"] / per["lucent render_vis"], 0.55),
                              ("tpviz / FLOP floor", per["tpviz"] / floor, 3.0),
                              ("tpviz / one-class floor", per["tpviz"] / floor_one, None),
                              ("tpviz / convolutions alone", per["tpviz"] / convs, None),
                              ("tpviz / minimal loop", per["tpviz"] / per["minimal CS231n loop"], None),
                              ("tpviz / plain layout", per["tpviz"] / per["tpviz, plain layout"], None),
                              ("tpviz / all 1000 scores", per["tpviz"] / per["tpviz, all 1000 scores"], None),
                              ("tpviz / autograd backward", per["tpviz"] / per["tpviz, autograd backward"], None)):
        verdict = "" if goal is None else f" (goal <= {goal}): {'OK' if ratio <= goal else 'ABOVE GOAL'}"
        print(f"  ratio {what:26s} = {ratio:.2f}{verdict}")


def explorer_grid(model: torch.nn.Module, scale: int, *, whole: bool = True) -> tuple[float, float, float]:
    """Seconds to the first image so far (shown while it grows), to the finished first image and to the whole
    grid of the TP's explorer (background mode; ``whole=False``: the first image only, the last figure is nan)."""
    from tpviz.widgets import explorer

    started = time.perf_counter()
    ex = explorer(model, classes=["snail"], lr=TP.explorer_lrs, l2_reg=TP.explorer_l2s,
                  iterations=[max(1, i // scale) for i in TP.explorer_iterations])
    growing: list[float] = []
    ex.title.observe(lambda change: "growing:" in change["new"] and growing.append(time.perf_counter() - started),
                     names="value")
    with contextlib.redirect_stdout(io.StringIO()):  # outside IPython, display() prints the widget's repr
        ex._ipython_display_()  # what showing it in a cell does
    while ex.current is None and not ex.errors.outputs:
        time.sleep(0.005)
    first = time.perf_counter() - started
    if whole:
        ex.wait()
    ex.close()
    return growing[0] if growing else float("nan"), first, time.perf_counter() - started if whole else float("nan")


def peak(what: str, name: str, scale: int) -> None:
    """Run one job in this (fresh) process and print its peak RSS as JSON (for ``bench_memory``)."""
    model, _ = benchmark_model(name, "cpu")
    if what == "class visualization":
        tpviz.class_visualization(model, "snail", iterations=max(2, TP.iterations // scale))
    else:
        explorer_grid(model, scale)
    print(json.dumps({"peak_mb": peak_rss_mb()}))


def bench_memory(scale: int) -> None:
    print(f"(d) peak RSS, each in its own process (CPU, iterations / {scale})")
    env = {**os.environ, "TPVIZ_ALLOW_RANDOM_WEIGHTS": "1"}
    for name, goal in (("squeezenet1_1", {"explorer grid": 1000}), ("vgg16", {"class visualization": 1800})):
        for what in ("class visualization", "explorer grid"):
            mb = json.loads(child_line([__file__, "--peak", what, "--model", name, "--scale", str(scale)],
                                       env=env))["peak_mb"]
            verdict = f" (goal <= {goal[what] / 1000:.1f} GB): {'OK' if mb <= goal[what] else 'ABOVE GOAL'}" \
                if what in goal else ""
            print(f"  {name:14s} {what:20s} {mb / 1000:5.2f} GB{verdict}")


def bench_explorer(model: torch.nn.Module) -> None:
    with head.all_scores():
        _, first_all, _ = explorer_grid(model, 1, whole=False)
    growing, first, whole = explorer_grid(model, 1)  # the goal is the TP's grid itself: never scaled
    print(f"(c) the explorer, the TP's grid {list(TP.explorer_lrs)} x {list(TP.explorer_l2s)} x "
          f"{list(TP.explorer_iterations)}, background")
    print(f"  first image {first:6.1f} s (goal <= 5 s{': OK' if first <= 5 else ': ABOVE GOAL'})   "
          f"whole grid {whole:6.1f} s   (first image with all 1000 scores: {first_all:.1f} s)")
    print(f"  first image so far (shown while it grows) {growing:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=1, help="divide every iteration count by this, for a quick look")
    ap.add_argument("--repeats", type=int, default=1, help="repeats of (a); (b) uses 9x as many")
    ap.add_argument("--steps", type=int, default=41, help="iterations of the longer call in (b)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--model", default="squeezenet1_1")
    ap.add_argument("--skip-memory", action="store_true", help="skip (d), the peak-memory runs")
    ap.add_argument("--parts", default=",".join(PARTS),
                    help="which of (b) iteration, (a) sweeps, (c) explorer, (d) memory to run, comma-separated "
                         "(e.g. sweeps alone on a GPU machine without torch-lucent or ipywidgets)")
    ap.add_argument("--peak", choices=["class visualization", "explorer grid"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peak:
        return peak(args.peak, args.model, args.scale)
    parts = set(args.parts.split(","))
    if not parts <= set(PARTS):
        ap.error(f"--parts takes some of {','.join(PARTS)}; got {args.parts!r}")
    model, device = benchmark_model(args.model, args.device)
    print(f"{tpviz.describe_model(model)} on {device} ({torch.get_num_threads()} threads), torch {torch.__version__}")
    if "iteration" in parts:
        bench_iteration(model, device, args.steps, 9 * args.repeats)
    if "sweeps" in parts:
        bench_sweeps(model, device, args.scale, args.repeats)
    if "explorer" in parts:
        bench_explorer(model)
    if "memory" in parts and not args.skip_memory:
        bench_memory(args.scale)


if __name__ == "__main__":
    main()
