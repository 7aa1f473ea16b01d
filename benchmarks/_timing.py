"""What every benchmark shares: alternating median timings, the cost of one iteration, fresh child processes,
the bare forward+input-gradient floor, the model."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

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


def per_iteration(call: Callable[[int], object], steps: int, repeats: int, *,
                  counters: dict[str, Callable[[], float]],
                  pick: Callable[[list[float]], float] = statistics.median) -> dict[str, float]:
    """How much each counter (a clock, a page-fault count) grows per iteration of ``call(n)`` (n iterations):
    (call(steps) - call(1)) / (steps - 1), so that a call's fixed cost is not counted; ``repeats`` times, then
    ``pick`` of them (the median; ``min`` where noise only ever slows a run down)."""
    seen: dict[str, list[float]] = {name: [] for name in counters}
    for _ in range(repeats):
        marks = []
        for n in (steps, 1):
            marks.append({name: read() for name, read in counters.items()})
            call(n)
        marks.append({name: read() for name, read in counters.items()})
        for name in counters:
            long, short = marks[1][name] - marks[0][name], marks[2][name] - marks[1][name]
            seen[name].append((long - short) / (steps - 1))
    return {name: pick(values) for name, values in seen.items()}


def alternating(names: tuple[str, str], rounds: int) -> Iterator[tuple[str, str]]:
    """Each round's order of two things timed in turn: which goes first alternates, so that a slow stretch of
    the machine does not always hit the same one."""
    for r in range(rounds):
        yield names if r % 2 == 0 else (names[1], names[0])


def child_line(argv: list[str], **run: object) -> str:
    """The last line a fresh Python process prints (``argv`` after the interpreter); it must succeed."""
    out = subprocess.run([sys.executable, *argv], capture_output=True, text=True, check=True, **run)  # type: ignore[call-overload]
    return str(out.stdout).strip().splitlines()[-1]


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
