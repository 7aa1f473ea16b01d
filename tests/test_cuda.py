"""What is particular to CUDA: skipped without a CUDA device (CI machines have none).

The promises that hold on every device (the invariants, bf16 keeping the class, a sweep equal to each setting
alone) run on CUDA through ``conftest.DEVICES``; ``bash benchmarks/gpu_check.sh`` runs all of them on the
device machine of a session that is lent one.
"""

from __future__ import annotations

import torch

import tpviz
from tpviz.algorithms import handgrad, layout

from .conftest import NEEDS_CUDA

pytestmark = NEEDS_CUDA
CUDA = torch.device("cuda")


def test_class_visualization_runs_a_channels_last_copy_on_cuda():
    model = tpviz.load_model("squeezenet1_1", weights="random", device=CUDA)
    with tpviz.frozen_eval(model):
        fast = layout.runner(model)
        assert fast is not model, "CUDA gets the channels_last copy too"
        conv = next(m for m in fast.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    result = tpviz.class_visualization(model, "snail", iterations=3, size=64, max_jitter=4)
    assert result.images.device.type == "cuda" and bool(torch.isfinite(result.images).all())
    assert next(model.parameters()).is_contiguous()  # the caller's model is never converted


def test_handgrad_is_for_the_cpu_only():
    """The hand-written backward is measured on the CPU only: for the same channels_last input that wants a
    gradient, it applies on the CPU and not on CUDA (autograd runs there)."""
    model = tpviz.load_model("squeezenet1_1", weights="random").eval().requires_grad_(False)
    plan = handgrad.plan(model.features)
    assert plan is not None
    x = torch.randn(1, 3, 64, 64).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    assert handgrad.applies(plan, x)
    model.to(CUDA)
    assert not handgrad.applies(handgrad.plan(model.features), x.detach().to(CUDA).requires_grad_(True))
