"""Why torch is slower on a second Python thread (the explorer's worker) than on the main thread, on a CPU.

Measures one class-visualization iteration (ms per image) on the main thread, on a worker thread with torch's
usual OpenMP threads, on a worker thread limited to one OpenMP thread (``omp_set_num_threads(1)`` on that
thread only), and, in a child process, on the main thread with ``OMP_WAIT_POLICY=PASSIVE`` (OpenMP's threads
sleep between parallel regions instead of spinning). Median of --repeats, alternating.

The explanation it tests: torch's OpenMP (GNU libgomp) gives each OS thread that runs a parallel region its own
pool of threads, and the main thread's pool stays alive. Once libgomp manages more threads than there are
CPUs (2 + 1 > 2 cores here) it shortens its spin-wait to a few hundred iterations, so every one of the
hundreds of small parallel regions of an iteration waits for sleeping threads to wake up, as with PASSIVE.

    OMP_NUM_THREADS unset: python benchmarks/bench_threads.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from functools import partial

import torch
from _timing import child_line

import tpviz
from tpviz.algorithms.openmp import one_openmp_thread

CHILD = "TPVIZ_BENCH_THREADS_CHILD"


def per_image(model: torch.nn.Module, batch: int, iterations: int) -> float:
    """Milliseconds per image-iteration of a class visualization of ``batch`` images."""
    t0 = time.perf_counter()
    tpviz.class_visualization(model, ["snail"] * batch, iterations=iterations)
    return (time.perf_counter() - t0) / iterations / batch * 1000


def on_worker(fn, *, one_thread: bool) -> float:
    out: dict[str, float] = {}

    def job() -> None:
        if one_thread:
            one_openmp_thread()  # this OS thread only (an OpenMP per-thread setting)
        out["ms"] = fn()

    worker = threading.Thread(target=job)
    worker.start()
    worker.join()
    return out["ms"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=30)
    args = ap.parse_args()
    model = tpviz.load_model("squeezenet1_1")
    per_image(model, 1, 3)
    if os.environ.get(CHILD):
        print(statistics.median(per_image(model, int(os.environ[CHILD]), args.iterations) for _ in range(args.repeats)))
        return
    print(f"squeezenet1_1 on cpu ({torch.get_num_threads()} threads, {os.cpu_count()} CPUs), torch {torch.__version__}, "
          f"one class-visualization iteration, ms per image, median of {args.repeats}, alternating")
    for batch in (1, 4):
        one = partial(per_image, model, batch, args.iterations)
        runs = {"main thread": one, "worker thread": partial(on_worker, one, one_thread=False),
                "worker, 1 OpenMP thread": partial(on_worker, one, one_thread=True)}
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                times[name].append(run())
        env = {**os.environ, CHILD: str(batch), "OMP_WAIT_POLICY": "PASSIVE"}
        passive = float(child_line([__file__, "--repeats", str(args.repeats), "--iterations", str(args.iterations)],
                                   env=env))
        main_ms = statistics.median(times["main thread"])
        line = "  ".join(f"{name} {statistics.median(ts):5.1f} (x{statistics.median(ts) / main_ms:.2f})"
                         for name, ts in times.items())
        print(f"  batch {batch}: {line}  main, OMP_WAIT_POLICY=PASSIVE {passive:5.1f} (x{passive / main_ms:.2f})")
    print("  the main thread while an idle worker that ran torch is alive (as the explorer's worker is):")
    one = partial(per_image, model, 1, args.iterations)
    for one_thread in (False, True):
        print(f"    worker {'with 1 OpenMP thread' if one_thread else 'with the usual threads'}: main thread "
              f"{main_while_worker_idles(one, one_thread=one_thread, repeats=args.repeats):5.1f} ms per image (batch 1)")


def main_while_worker_idles(fn, *, one_thread: bool, repeats: int) -> float:
    """Median of ``fn()`` on the main thread while a worker thread that ran torch waits, alive."""
    ready, done = threading.Event(), threading.Event()

    def job() -> None:
        if one_thread:
            one_openmp_thread()
        fn()
        ready.set()
        done.wait()

    worker = threading.Thread(target=job, daemon=True)
    worker.start()
    ready.wait()
    try:
        return statistics.median(fn() for _ in range(repeats))
    finally:
        done.set()
        worker.join()


if __name__ == "__main__":
    main()
