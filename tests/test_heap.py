"""heap.kept(): inside it a loop's freed memory is reused without page faults; the outermost block's end gives
it back; nothing changes off glibc or where the user chose malloc's settings. Page faults and RSS depend on
the whole process's history, so the measurements run in a fresh process each."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import torch

import tpviz
from tpviz.algorithms import heap

pytestmark = pytest.mark.skipif(heap._glibc() is None, reason="malloc's settings are glibc's (Linux); nothing to test")

STEPS = r"""
import json, resource, torch
from tpviz.algorithms import heap
libc = heap._glibc()

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20

def step():
    a = [torch.ones(1_500_000) for _ in range(4)]  # 4 x 6 MB from the heap, freed together: 24 MB free at its top
    del a

def faults_per_step():
    for _ in range(6):  # the heap settles in a few steps
        step()
    before = faults()
    for _ in range(10):
        step()
    return (faults() - before) / 10

out = {}
libc.mallopt(heap._M_MMAP_THRESHOLD, 128 * 1024)  # glibc's initial value, held: each 6 MB block is mmapped and unmapped
with heap.glibc_default(), heap.kept():  # switched off: nothing changes
    out["default"] = faults_per_step()
with heap.kept():
    out["kept"] = faults_per_step()
    with heap.kept():
        step()
    out["rss_nested"] = rss_mb()  # the inner block's end gives nothing back
out["rss_after"] = rss_mb()
print(json.dumps(out))
"""

ASCENT = r"""
import json, resource, tpviz
model = tpviz.load_model("squeezenet1_1", weights="random")
seen = {}
def note(t, images):  # faults so far, read after iterations 10 and 40 of one call
    if t in (10, 40):
        seen[t] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
tpviz.class_visualization(model, 0, iterations=40, callback=note)
print(json.dumps({"per_iteration": (seen[40] - seen[10]) / 30}))
"""


def _run(script: str, **env: str) -> dict:
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **env})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_kept_reuses_freed_memory_without_faults_and_the_outermost_end_gives_it_back() -> None:
    out = _run(STEPS)
    assert out["default"] > 2000, out  # 24 MB unmapped every step: ~6000 pages faulted in again
    assert out["kept"] < 20, out
    assert out["rss_nested"] - out["rss_after"] > 15, out  # malloc_trim at the outermost end only


def test_a_class_visualization_faults_no_pages_in_its_steady_state() -> None:
    out = _run(ASCENT, TPVIZ_ALLOW_RANDOM_WEIGHTS="1")
    assert out["per_iteration"] < 100, out  # without kept(): hundreds, by the heap's layout (benchmarks/bench_heap.py)


@pytest.mark.parametrize("name", ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"])
def test_the_users_own_malloc_settings_are_left_alone(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    assert heap.applies()
    monkeypatch.setenv(name, "131072")
    assert not heap.applies()


def test_glibc_tunables_and_the_switch_turn_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    with heap.glibc_default():
        assert not heap.applies()
    assert heap.applies()
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072")
    assert not heap.applies()


def test_without_glibc_kept_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_glibc", lambda: None)
    assert not heap.applies()
    with heap.kept():
        assert heap._depth == 0


@pytest.mark.parametrize("run", ["class_visualization", "fgsm"])
def test_the_ascent_and_attack_loops_run_inside_kept(monkeypatch: pytest.MonkeyPatch, tiny, run: str) -> None:
    entered: list[bool] = []

    @contextlib.contextmanager
    def recording() -> Iterator[None]:
        entered.append(True)
        yield

    monkeypatch.setattr(heap, "kept", recording)
    x = torch.rand(1, 3, 16, 16)
    if run == "class_visualization":
        tpviz.class_visualization(tiny, 0, init=x, iterations=2, size=16, max_jitter=4)
    else:
        tpviz.fgsm(tiny, x, 1, eps=0.01)
    assert entered == [True]
