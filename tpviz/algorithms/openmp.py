"""One OpenMP thread for a background thread's torch work, so that it does not slow the main thread down.

torch's CPU kernels run in OpenMP parallel regions. GNU OpenMP (libgomp, in torch's Linux wheels) gives every OS
thread that starts a parallel region a pool of threads of its own, and the main thread's pool stays alive.
Once it manages more threads than there are CPUs (the main pool and a worker's pool: 2 + 1 on 2 cores) it
cuts its spin-wait short, so each of the hundreds of small parallel regions of an iteration waits for sleeping
threads to wake up. Measured on the 2-core CPU (``benchmarks/bench_threads.py`` and the README, Speed): an
iteration ran ~2x slower on a worker thread than on the main thread, as slow as the main thread with
OMP_WAIT_POLICY=PASSIVE, and the main thread itself ran ~1.9x slower for as long as an idle worker that had
used torch was alive. With one OpenMP thread the worker starts no pool: the main thread keeps its speed.
"""

from __future__ import annotations

import ctypes

import torch


def one_openmp_thread() -> bool:
    """Make the parallel regions started from the *calling* OS thread use one thread (an OpenMP per-thread
    setting: other threads keep theirs). Call it first thing on a worker thread.
    Returns False, changing nothing, where OpenMP's ``omp_set_num_threads`` is not found (e.g. Windows)."""
    torch.get_num_threads()  # torch sets each thread's OpenMP count once, on its first use there: let it go first
    try:
        set_threads = ctypes.CDLL(None).omp_set_num_threads
    except (OSError, AttributeError, TypeError, ValueError):
        return False
    set_threads(1)
    return True
