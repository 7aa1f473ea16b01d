"""Benchmark: tpviz.saliency_maps vs a bare forward + input-gradient backward, same batch, same run.

    python benchmarks/bench_saliency.py [--batch 25] [--repeats 7] [--device auto]

Prints the median time of each and the ratio ours / bare (target: <= 1.10). Timings alternate between the
two so that machine noise hits both alike. Also shows the CS231n-style `.backward()` on an unfrozen model
(weight gradients computed and stored) for comparison. Uses real SqueezeNet weights when
TPVIZ_WEIGHTS_DIR has them (speed does not depend on the weights) and random ones otherwise.
"""

from __future__ import annotations

import argparse

import torch
from _timing import bare, benchmark_model, timed

import tpviz


def cs231n_style(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The original helper's way: .backward() with the parameters still requiring grad."""
    model.requires_grad_(True)
    leaf = x.detach().clone().requires_grad_(True)
    model(leaf).gather(1, y[:, None]).sum().backward()
    model.zero_grad(set_to_none=True)
    model.requires_grad_(False)
    return leaf.grad.abs().amax(dim=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--model", default="squeezenet1_1")
    args = ap.parse_args()

    model, device = benchmark_model(args.model, args.device)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, 224, 224, generator=gen).to(device)
    y = torch.randint(0, 1000, (args.batch,), generator=gen).to(device)

    methods = {"bare forward+input-grad": lambda: bare(model, x, y),
               "tpviz.saliency_maps": lambda: tpviz.saliency_maps(model, x, y),
               "cs231n .backward() unfrozen": lambda: cs231n_style(model, x, y)}
    med = timed(methods, args.repeats, device)
    print(f"{args.model} on {device} ({torch.get_num_threads()} threads), batch {args.batch}, "
          f"median of {args.repeats}, torch {torch.__version__}")
    for name, m in med.items():
        print(f"  {name:30s} {m * 1000:8.1f} ms   x{m / med['bare forward+input-grad']:.3f}")
    ratio = med["tpviz.saliency_maps"] / med["bare forward+input-grad"]
    verdict = "OK" if ratio <= 1.10 else "ABOVE TARGET"
    print(f"ratio saliency_maps / bare = {ratio:.3f} (target <= 1.10): {verdict}")


if __name__ == "__main__":
    main()
