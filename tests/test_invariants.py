"""Every public function that takes a model leaves the model and the caller's tensors as it found them."""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

import tpviz

from .conftest import DEVICES, TinyConv

# One call per public function that takes a model. A new public function with a `model` parameter
# must be added here: test_every_model_function_is_covered fails until it is.
CALLS = {
    "saliency_maps": lambda m, x: tpviz.saliency_maps(m, x, [1, 2]),
    "smoothgrad": lambda m, x: tpviz.smoothgrad(m, x, [1, 2], samples=3, batch_size=2),
    "integrated_gradients": lambda m, x: tpviz.integrated_gradients(m, x, [1, 2], steps=4, batch_size=3),
    "frozen_eval": lambda m, x: _use_scope(m, x),
    "describe_model": lambda m, x: tpviz.describe_model(m),
    "model_info": lambda m, x: tpviz.model_info(m),
    "fooling_image": lambda m, x: tpviz.fooling_image(m, x, [1, 2], max_iter=3, until_saved=True),
    "fgsm": lambda m, x: tpviz.fgsm(m, x, eps=2 / 255),
    "pgd": lambda m, x: tpviz.pgd(m, x, [1, 2], eps=2 / 255, steps=2),
    "class_visualization": lambda m, x: tpviz.class_visualization(m, [1, 2], init=x, iterations=3, size=10,
                                                                  max_jitter=2, blur_every=2, snapshots=[1]),
    "axis_sweeps": lambda m, x: tpviz.axis_sweeps(m, 1, init=x[:1], lr=[1.0, 2.0], l2_reg=[0.0], iterations=[1, 3],
                                                  base_lr=1.0, base_l2_reg=0.0, base_iterations=2, size=10,
                                                  max_jitter=2),
    "sweep": lambda m, x: tpviz.sweep(m, 1, init=x[:1], lr=[1.0, 2.0], iterations=[1, 2], size=10, max_jitter=2),
    "plot_sweep": lambda m, x: _plot_sweep(m, x),
    "compare_attacks": lambda m, x: tpviz.compare_attacks(m, x, [1, 2], eps=(2 / 255,), max_iter=3, steps=2),
    "architecture_facts": lambda m, x: tpviz.architecture_facts(m, size=32),
    "occlusion": lambda m, x: tpviz.occlusion(m, x, [1, 2], patch=4, stride=3, batch_size=5),
    "linearity": lambda m, x: tpviz.linearity(m, x, [1, 2], eps=(1 / 255, 2 / 255)),
    "ig_completeness": lambda m, x: tpviz.ig_completeness(m, x, [1, 2], torch.zeros_like(x)),
}


def _use_scope(m: nn.Module, x: torch.Tensor) -> None:
    with tpviz.frozen_eval(m):
        m(x)


def _plot_sweep(m: nn.Module, x: torch.Tensor) -> None:
    """plot_sweep only names the model: a one-image sweep made by hand (1, 1, 1, 3, H, W) from x."""
    import matplotlib.pyplot as plt

    zero = torch.zeros(1, 1, 1)
    grid = tpviz.Sweep(lr=[1.0], l2_reg=[0.0], iterations=[1], images=x[:1].unsqueeze(1).unsqueeze(1), score=zero,
                       target_probability=zero, predicted=zero.long(), probability=zero, target=1)
    plt.close(tpviz.plot_sweep(grid, model=m))


def test_every_model_function_is_covered():
    takes_model = {name for name in tpviz.__all__ if callable(getattr(tpviz, name))
                   and not inspect.isclass(getattr(tpviz, name))
                   and "model" in inspect.signature(getattr(tpviz, name)).parameters}
    assert takes_model == set(CALLS), f"add these to CALLS: {sorted(takes_model - set(CALLS))}"


def _snapshot(model: nn.Module, x: torch.Tensor) -> dict:
    return {
        "params": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "memory_format": [(k, v.stride(), v.data_ptr()) for k, v in model.state_dict().items()],
        "grads": [p.grad for p in model.parameters()],
        "training": [m.training for m in model.modules()],
        "hooks": [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks),
                   len(getattr(m, "_backward_pre_hooks", {}))) for m in model.modules()],
        "global_hooks": (len(nn.modules.module._global_forward_hooks),
                         len(nn.modules.module._global_backward_hooks)),
        "x": x.detach().clone(), "x_requires_grad": x.requires_grad, "x_grad": x.grad,
        "x_device": x.device, "x_version": x._version, "x_stride": x.stride(),
        "grad_enabled": torch.is_grad_enabled(), "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state(x.device) if x.is_cuda else None,
    }


def _assert_same(before: dict, after: dict) -> None:
    for k, v in before["params"].items():
        assert torch.equal(v, after["params"][k]), f"parameter {k} changed"
    for key in ("requires_grad", "memory_format", "training", "hooks", "global_hooks", "x_requires_grad",
                "x_device", "x_version", "x_stride", "grad_enabled"):
        assert before[key] == after[key], f"{key} changed: {before[key]} -> {after[key]}"
    assert all(g is None for g in after["grads"]), "a parameter .grad was set"
    assert after["x_grad"] is None, "the input got a .grad"
    assert torch.equal(before["x"], after["x"]), "the input tensor was modified"
    assert torch.equal(before["rng"], after["rng"]), "the global RNG state was consumed"
    if before["cuda_rng"] is not None:
        assert torch.equal(before["cuda_rng"], after["cuda_rng"]), "the CUDA RNG state was consumed"


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("state", ["train-unfrozen", "eval-frozen", "mixed", "channels-last"])
@pytest.mark.parametrize("device", DEVICES)
def test_leaves_model_and_input_untouched(name, state, device):
    """Also the memory format (strides) of every parameter and of the input: the algorithms run a channels_last
    copy where that is faster (tpviz/algorithms/layout.py), never the caller's model converted."""
    model = TinyConv().to(device)
    if state == "eval-frozen":
        model.eval().requires_grad_(False)
    elif state == "mixed":  # submodule flags that differ from the parent must survive too
        model.eval()
        model.drop.train()
        model.head.weight.requires_grad_(False)
    x = torch.randn(2, 3, 10, 10, generator=torch.Generator().manual_seed(0)).to(device)
    if state == "channels-last":  # a caller who converted model and input keeps them so
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    before = _snapshot(model, x)
    CALLS[name](model, x)
    _assert_same(before, _snapshot(model, x))


class Exploding(TinyConv):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom")


@pytest.mark.parametrize("name", ["saliency_maps", "smoothgrad", "integrated_gradients", "frozen_eval", "fooling_image",
                                  "fgsm", "pgd", "class_visualization", "sweep", "axis_sweeps", "compare_attacks",
                                  "occlusion", "linearity"])
def test_leaves_model_untouched_when_the_model_raises(name):
    model = Exploding().train()
    x = torch.randn(2, 3, 10, 10)
    before = _snapshot(model, x)
    with pytest.raises((RuntimeError, tpviz.InputError)):
        CALLS[name](model, x)
    _assert_same(before, _snapshot(model, x))


def test_caller_requires_grad_input_is_left_alone():
    model = TinyConv()
    x = torch.randn(2, 3, 10, 10).requires_grad_(True)
    before = _snapshot(model, x)
    tpviz.saliency_maps(model, x, [0, 1])
    _assert_same(before, _snapshot(model, x))
