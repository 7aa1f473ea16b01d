"""The same promises on a CUDA device: skipped without one (CI machines have none).

``bash benchmarks/gpu_check.sh`` runs this file on the device machine of a session that is lent one.
"""

from __future__ import annotations

import pytest
import torch

import tpviz
from tpviz.algorithms import handgrad, layout

from .conftest import TinyConv
from .test_invariants import CALLS, _assert_same, _snapshot
from .test_memory_layout import colour_classes

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (none on this machine)")
CUDA = torch.device("cuda")


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("state", ["train-unfrozen", "eval-frozen", "channels-last"])
def test_leaves_model_and_input_untouched_on_cuda(name, state):
    model = TinyConv().to(CUDA)
    if state == "eval-frozen":
        model.eval().requires_grad_(False)
    x = torch.randn(2, 3, 10, 10, generator=torch.Generator().manual_seed(0)).to(CUDA)
    if state == "channels-last":
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    before, cuda_rng = _snapshot(model, x), torch.cuda.get_rng_state()
    CALLS[name](model, x)
    _assert_same(before, _snapshot(model, x))
    assert torch.equal(cuda_rng, torch.cuda.get_rng_state()), "the CUDA RNG state was consumed"


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


def test_handgrad_stays_off_on_cuda():
    """The hand-written backward is for the CPU: on CUDA autograd computes the same input gradient."""
    model = tpviz.load_model("squeezenet1_1", weights="random", device=CUDA)
    x = tpviz.start_image(None, size=64, device=CUDA)
    got = tpviz.saliency_maps(model, x, [113])
    with handgrad.autograd_only():
        ref = tpviz.saliency_maps(model, x, [113])
    torch.testing.assert_close(got, ref)


def test_bfloat16_autocast_keeps_the_class_on_cuda():
    model = colour_classes().to(CUDA)
    kw = {"iterations": 10, "size": 16, "max_jitter": 2, "lr": 2.0}
    with layout.bfloat16():
        low = tpviz.class_visualization(model, [0, 1, 2], **kw)
    assert low.predicted.tolist() == [0, 1, 2], "bf16 images must still show their class (judged in float32)"
    assert low.score.dtype == torch.float32


def test_sweep_equals_each_setting_alone_on_cuda():
    model = TinyConv().to(CUDA)
    kw = {"size": 12, "max_jitter": 3, "blur_every": 2, "seed": 4}
    grid = tpviz.sweep(model, 5, lr=[1.0, 4.0], iterations=[2, 5], **kw)
    for lr in (1.0, 4.0):
        for its in (2, 5):
            alone = tpviz.class_visualization(model, 5, lr=lr, iterations=its, **kw)
            torch.testing.assert_close(grid.image(lr=lr, l2_reg=grid.l2_reg[0], iterations=its), alone.images,
                                       rtol=0, atol=1e-4)
