"""Devices: "auto" picks CUDA, then Apple's MPS, then the CPU; the doctor names MPS; no float64 reaches a device.

No machine here has a GPU: availability is faked with monkeypatch.
"""

from __future__ import annotations

import inspect

import pytest
import torch
from torch.overrides import TorchFunctionMode

import tpviz
import tpviz.cli.doctor as doctor

from .conftest import TinyConv


def fake(monkeypatch: pytest.MonkeyPatch, *, cuda: bool, mps: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize(("cuda", "mps", "expected"),
                         [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch: pytest.MonkeyPatch, cuda: bool, mps: bool, expected: str):
    fake(monkeypatch, cuda=cuda, mps=mps)
    assert tpviz.resolve_device("auto") == torch.device(expected)


def test_mps_asked_for_where_there_is_none_is_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    fake(monkeypatch, cuda=False, mps=False)
    with pytest.raises(tpviz.InputError, match="MPS is not available here; use device='auto' or 'cpu'"):
        tpviz.resolve_device("mps")
    fake(monkeypatch, cuda=False, mps=True)
    assert tpviz.resolve_device("mps") == torch.device("mps")


def test_unknown_device_names_mps_among_the_choices():
    with pytest.raises(tpviz.InputError, match="use 'auto', 'cpu', 'cuda' or 'mps'"):
        tpviz.resolve_device("apple")


def test_doctor_reports_mps(monkeypatch: pytest.MonkeyPatch):
    fake(monkeypatch, cuda=False, mps=True)
    (found,) = doctor.check_device()
    assert found.status == "ok" and found.detail.startswith("MPS (Apple GPU)")
    fake(monkeypatch, cuda=False, mps=False)
    (cpu,) = doctor.check_device()
    assert cpu.detail.startswith("CPU only")


def test_doctor_says_when_macos_cannot_give_this_torch_the_apple_gpu(monkeypatch: pytest.MonkeyPatch):
    fake(monkeypatch, cuda=False, mps=False)
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: True)
    monkeypatch.setattr(doctor.platform, "system", lambda: "Darwin")
    (found,) = doctor.check_device()
    assert found.status == "warn" and "MPS" in found.detail and "macOS" in found.fix


class Float64Watch(TorchFunctionMode):
    """Records every torch call that returns a float64 tensor, unless one of ``allowed`` made it."""

    def __init__(self, allowed: set[str]) -> None:
        super().__init__()
        self.allowed = allowed
        self.calls: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor) and t.dtype == torch.float64:
                callers = {frame.function for frame in inspect.stack()[1:12]}
                if not callers & self.allowed:
                    self.calls.append(f"{getattr(func, '__name__', func)} in {sorted(callers)[:4]}")
        return out


def test_the_device_tensors_of_every_stage_are_float32():
    """MPS has no float64. Run each public stage on a tiny model and record every float64 tensor made.

    On a CPU-only machine the device *is* the CPU, so every float64 tensor is recorded except those a stage
    makes on purpose on the CPU and reads back as Python numbers (the blur kernel's weights).
    """
    watch = Float64Watch({"gaussian_kernel"})
    model = TinyConv()
    x = tpviz.preprocess((torch.rand(2, 16, 16, 3) * 255).to(torch.uint8))
    with watch:
        tpviz.saliency_maps(model, x, torch.tensor([1, 2]))
        tpviz.fooling_image(model, x[:1], 3, max_iter=3)
        tpviz.fgsm(model, x, torch.tensor([3, 3]), eps=2 / 255)
        tpviz.class_visualization(model, 1, iterations=3, size=16, max_jitter=2)
        tpviz.deprocess(x)
    assert x.dtype == torch.float32
    assert watch.calls == [], f"float64 tensors made by: {sorted(set(watch.calls))}"
