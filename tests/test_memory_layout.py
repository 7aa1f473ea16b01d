"""The memory layout the algorithms run the model in (tpviz/algorithms/layout.py): same results as the plain
path to float tolerance, in the caller's layout, from a cached copy that follows the caller's weights."""

from __future__ import annotations

import gc

import pytest
import torch
from torch import nn

import tpviz
from tpviz.algorithms import layout
from tpviz.algorithms.gradients import input_gradient

from .conftest import DEVICES, Linear, TinyConv

CL = torch.channels_last


def gradient(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The input gradient through ``runner``, inside ``frozen_eval``."""
    with tpviz.frozen_eval(model):
        return input_gradient(layout.runner(model), x, labels)[0]


def plain_gradient(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    with layout.plain():
        return gradient(model, x, labels)


@pytest.mark.parametrize("fmt", [torch.contiguous_format, CL])
def test_gradient_equals_the_plain_path_in_the_callers_layout(fmt):
    model, labels = TinyConv(), torch.tensor([1, 2])
    x = torch.randn(2, 3, 10, 10, generator=torch.Generator().manual_seed(0)).contiguous(memory_format=fmt)
    with tpviz.frozen_eval(model):
        assert isinstance(layout.runner(model), layout.Converted)  # the channels_last copy is used
    fast, ref = gradient(model, x, labels), plain_gradient(model, x, labels)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-7)
    assert fast.stride() == x.stride() and ref.abs().max() > 0


def test_class_visualization_equals_the_plain_path():
    model = TinyConv()
    kw = {"iterations": 4, "size": 12, "max_jitter": 2, "blur_every": 2, "snapshots": [2]}
    fast = tpviz.class_visualization(model, [1, 2], **kw)
    with layout.plain():
        ref = tpviz.class_visualization(model, [1, 2], **kw)
    torch.testing.assert_close(fast.images, ref.images, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fast.snapshots[2], ref.snapshots[2], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fast.score, ref.score, rtol=1e-4, atol=1e-5)


def copy_of(model: nn.Module) -> nn.Module:
    with tpviz.frozen_eval(model):
        run = layout.runner(model)
    assert isinstance(run, layout.Converted)
    return run.fast


def test_the_copy_is_cached_shares_all_but_the_conv_weights_and_goes_with_the_model():
    model = TinyConv()
    fast = copy_of(model)
    assert copy_of(model) is fast and fast is not model
    conv, ours = model.features[0], fast.features[0]
    assert ours.weight is not conv.weight and ours.weight.is_contiguous(memory_format=CL)
    assert conv.weight.is_contiguous() and not conv.weight.is_contiguous(memory_format=CL)
    assert ours.bias is conv.bias and fast.head.weight is model.head.weight  # shared, not copied
    assert layout.copy_bytes(model) == 4 * (conv.weight.numel() + model.features[3].weight.numel())
    entries = len(layout._copies)
    del model, fast, conv, ours
    gc.collect()
    assert len(layout._copies) == entries - 1


@pytest.mark.parametrize("change", ["in place", "through .data", "new parameter", "load_state_dict"])
def test_the_copy_follows_the_callers_weights(change):
    model, labels = TinyConv(), torch.tensor([1, 2])
    x = torch.randn(2, 3, 10, 10)
    before = gradient(model, x, labels)
    weight = model.features[0].weight
    if change == "in place":
        with torch.no_grad():
            weight.mul_(-2)
    elif change == "through .data":
        weight.data.mul_(-2)  # leaves weight._version alone: caught by comparing values
    elif change == "new parameter":
        model.features[0].weight = nn.Parameter(weight.detach() * -2)
    else:
        model.load_state_dict({**model.state_dict(), "features.0.weight": weight.detach() * -2})
    after = gradient(model, x, labels)
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, plain_gradient(model, x, labels), rtol=1e-5, atol=1e-7)


def test_the_callers_model_is_run_as_it_is_when_the_copy_would_differ():
    model = TinyConv()
    assert layout.runner(model) is model  # training mode (outside frozen_eval)
    with tpviz.frozen_eval(model), layout.plain():
        assert layout.runner(model) is model
    handle = model.features[0].register_forward_hook(lambda *_: None)
    try:
        with tpviz.frozen_eval(model):
            assert layout.runner(model) is model  # a hook must see the caller's modules
    finally:
        handle.remove()
    linear = Linear().eval()
    assert layout.runner(linear) is linear  # no convolution: nothing to gain


def colour_classes() -> nn.Module:
    """Class k is how much channel k outweighs the others (a 3x3 conv near that, ReLU, mean): each is reachable."""
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 3, 3, padding=1)
    with torch.no_grad():
        conv.weight.mul_(0.1)
        conv.weight[:, :, 1, 1] += 4 * torch.eye(3) - 1
    return nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


@pytest.mark.parametrize("device", DEVICES)
def test_bfloat16_autocast_keeps_the_class_and_reports_in_float32(device: str):
    model = colour_classes().to(device)
    kw = {"iterations": 10, "size": 16, "max_jitter": 2, "lr": 2.0}
    ref = tpviz.class_visualization(model, [0, 1, 2], **kw)
    with layout.bfloat16():
        with tpviz.frozen_eval(model):
            assert layout.runner(model).bf16 and not layout.runner(model, autocast=False).bf16
        low = tpviz.class_visualization(model, [0, 1, 2], **kw)
    assert ref.predicted.tolist() == [0, 1, 2] and bool((ref.probability > 0.9).all())
    assert low.predicted.tolist() == [0, 1, 2], "bf16 images must still show their class (judged in float32)"
    assert bool((low.probability > 0.9).all()) and low.score.dtype == torch.float32
    assert not torch.equal(low.images, ref.images)  # autocast did run in bf16


ALGORITHMS = {
    "saliency_maps": lambda m, x: tpviz.saliency_maps(m, x, [1, 2]),
    "smoothgrad": lambda m, x: tpviz.smoothgrad(m, x, [1, 2], samples=2),
    "integrated_gradients": lambda m, x: tpviz.integrated_gradients(m, x, [1, 2], steps=3),
    "occlusion": lambda m, x: tpviz.occlusion(m, x, [1, 2], patch=4, stride=4),
    "linearity": lambda m, x: tpviz.linearity(m, x, [1, 2], eps=(1 / 255,)).measured,
    "fooling_image": lambda m, x: tpviz.fooling_image(m, x, [3, 4], max_iter=3).images,
    "fgsm": lambda m, x: tpviz.fgsm(m, x, target=[3, 4], eps=2 / 255).images,
    "pgd": lambda m, x: tpviz.pgd(m, x, target=[3, 4], eps=2 / 255, steps=2).images,
}


@pytest.mark.parametrize("name", ALGORITHMS)
def test_saliency_and_attacks_run_the_channels_last_copy_and_match_the_plain_path(name, monkeypatch):
    model = TinyConv()
    x = torch.randn(2, 3, 12, 12, generator=torch.Generator().manual_seed(3))
    with layout.plain():
        ref = ALGORITHMS[name](model, x)
    formats = []
    forward = layout.Converted.forward
    monkeypatch.setattr(layout.Converted, "forward", lambda self, t: formats.append(self.memory_format) or forward(self, t))
    fast = ALGORITHMS[name](model, x)
    assert formats and set(formats) == {CL}, f"{name} ran {formats or 'the caller model only'}"
    torch.testing.assert_close(fast, ref, rtol=1e-4, atol=1e-5)


def test_a_float64_model_keeps_float64_scores_through_the_copy():
    model = TinyConv().double()
    with tpviz.frozen_eval(model):
        out = layout.runner(model)(torch.randn(1, 3, 8, 8, dtype=torch.float64))
    assert out.dtype == torch.float64
