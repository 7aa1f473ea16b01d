"""Benchmark: forward + input gradient per image in each memory layout, the evidence behind tpviz/algorithms/layout.py.

    python benchmarks/bench_layout.py [--models squeezenet1_1 vgg16] [--batches 1 5] [--repeats 5] [--device auto]

For each model and batch, alternating in one run (median of ``repeats``): the plain layout (NCHW), the input
alone in channels_last, and what tpviz runs (``layout.runner``: input and convolution weights channels_last,
the caller's model untouched), and the largest difference of the gradients from the plain ones. Also what
the channels_last copy costs in memory (``layout.copy_bytes``). Random weights (speed does not depend on them).
"""

from __future__ import annotations

import argparse

import torch
from _timing import timed

import tpviz
from tpviz.algorithms import layout
from tpviz.algorithms.gradients import input_gradient


def measure(model: torch.nn.Module, n: int, repeats: int, device: torch.device) -> str:
    """One line: ms per image in each layout at batch ``n`` (call inside ``frozen_eval``)."""
    fast = layout.runner(model)
    x, y = torch.randn(n, 3, 224, 224, device=device), torch.full((n,), 113, device=device)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    runs = {"plain": lambda: input_gradient(model, x, y), "input channels_last": lambda: input_gradient(model, x_cl, y),
            "tpviz (layout.runner)": lambda: input_gradient(fast, x, y)}
    med = timed(runs, repeats, device)
    diff = (runs["tpviz (layout.runner)"]()[0] - runs["plain"]()[0]).abs().max().item()
    return (f"  batch {n}: " + "   ".join(f"{k} {v / n * 1000:.1f} ms/image" for k, v in med.items())
            + f"   x{med['tpviz (layout.runner)'] / med['plain']:.2f}, max |grad diff| {diff:.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["squeezenet1_1", "vgg16"])
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 5])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    for name in args.models:
        model = tpviz.load_model(name, weights="random", device=args.device)
        device = next(model.parameters()).device
        total = sum(p.numel() * p.element_size() for p in model.parameters())
        print(f"{name} on {device} ({torch.get_num_threads()} threads), torch {torch.__version__}; "
              f"channels_last copy {layout.copy_bytes(model) / 1e6:.0f} MB of {total / 1e6:.0f} MB")
        with tpviz.frozen_eval(model):
            for n in args.batches:
                print(measure(model, n, args.repeats, device), flush=True)

if __name__ == "__main__":
    main()
