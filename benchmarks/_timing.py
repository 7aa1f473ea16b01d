"""What every benchmark shares: alternating median timings, the bare forward+input-gradient floor, the model."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

import tpviz


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fns: dict[str, Callable[[], object]], repeats: int, device: torch.device, *,
          best: tuple[str, ...] = ()) -> dict[str, float]:
    """Median seconds of each function, run alternately ``repeats`` times after one warm-up each, so that
    machine noise hits them alike; for the names in ``best``, the fastest run instead (a floor is what the
    machine does at its best)."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            sync(device)
            t0 = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - t0)
    return {name: min(ts) if name in best else statistics.median(ts) for name, ts in times.items()}


def bare(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The floor: one forward and one input-gradient backward of the class scores, nothing else."""
    leaf = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(leaf).gather(1, y[:, None]).sum(), leaf)
    return grad


def benchmark_model(name: str, device: str) -> tuple[torch.nn.Module, torch.device]:
    """``load_model(name)`` with real weights when they are on disk, else random ones (speed does not depend
    on the weights); and its device."""
    try:
        model = tpviz.load_model(name, device=device)
    except tpviz.WeightsError:
        model = tpviz.load_model(name, weights="random", device=device)
    return model, next(model.parameters()).device
