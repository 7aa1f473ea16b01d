"""Only the class scores an algorithm needs (tpviz/algorithms/head.py): SqueezeNet's last convolution restricted
to the labels' rows gives the same scores and gradients as the whole model, is used by class visualization,
SmoothGrad, integrated gradients and occlusion, and is never used where it could differ (hooks, training mode,
other heads)."""

from __future__ import annotations

import contextlib

import pytest
import torch
import torchvision
from torch import nn

import tpviz
from tpviz.algorithms import handgrad, head, layout
from tpviz.algorithms.gradients import input_gradient, score

from .conftest import TinyConv
from .test_invariants import _assert_same, _snapshot

SIZE = 64  # SqueezeNet's smallest comfortable input: 64 -> 31 -> 15 -> 7 -> 3 after its stride-2 stages


def small_squeezenet(classes: int = 10) -> nn.Module:
    """A random SqueezeNet 1.1 whose last convolution has a positive bias, so every class has a score and a
    gradient (torchvision's init gives zero biases, and ReLU would zero many scores)."""
    torch.manual_seed(0)
    model = torchvision.models.squeezenet1_1(num_classes=classes)
    with torch.no_grad():
        model.classifier[1].bias.uniform_(0.5, 1.0)
    return model


def images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("plain", [False, True], ids=["channels_last copy", "caller's model"])
def test_scores_and_gradient_equal_the_whole_models(plain):
    model, x, labels = small_squeezenet(), images(3), torch.tensor([7, 2, 7])
    with tpviz.frozen_eval(model), torch.no_grad():
        full = model(x)
    with tpviz.frozen_eval(model):
        ref, _ = input_gradient(model, x, labels)
        with layout.plain() if plain else contextlib.nullcontext():
            scorer, index = head.only_classes(layout.runner(model), labels)
            inner = scorer if plain else scorer.fast
            assert isinstance(inner, head.ClassScores)
            assert index.tolist() == [1, 0, 1]  # into the distinct classes [2, 7]
            torch.testing.assert_close(scorer(x), full[:, [2, 7]], rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(score(scorer(x), index), score(full, labels), rtol=1e-5, atol=1e-6)
            grad, _ = input_gradient(scorer, x, index)
    torch.testing.assert_close(grad, ref, rtol=1e-4, atol=1e-7)
    assert ref.abs().amax(dim=(1, 2, 3)).min() > 0  # every image has a gradient to compare


def test_the_scorer_shares_the_models_modules_and_copies_only_the_rows():
    model = small_squeezenet()
    with tpviz.frozen_eval(model), layout.plain():
        scorer, _ = head.only_classes(model, torch.tensor([4]))
    assert scorer.features is model.features
    assert scorer.weight.shape == (1, 512, 1, 1)
    assert torch.equal(scorer.weight[0], model.classifier[1].weight[4])
    assert scorer.weight.data_ptr() != model.classifier[1].weight.data_ptr()


def spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Record (batch, classes) of every narrowed forward."""
    calls: list[tuple[int, int]] = []
    forward = head.ClassScores.forward

    def recorded(self: head.ClassScores, x: torch.Tensor) -> torch.Tensor:
        out = forward(self, x)
        calls.append(tuple(out.shape))
        return out

    monkeypatch.setattr(head.ClassScores, "forward", recorded)
    return calls


ALGORITHMS = {
    "class_visualization": lambda m, x: tpviz.class_visualization(m, [3, 8], init=x, iterations=4, size=SIZE,
                                                                  max_jitter=3, blur_every=2, snapshots=[2]),
    "axis_sweeps": lambda m, x: tpviz.axis_sweeps(m, 3, init=x[:1], lr=[1.0, 2.0], l2_reg=[0.0, 0.1],
                                                  iterations=[1, 3], base_lr=1.0, base_l2_reg=0.0,
                                                  base_iterations=2, size=SIZE, max_jitter=2),
    "smoothgrad": lambda m, x: tpviz.smoothgrad(m, x, [3, 8], samples=3, batch_size=4),
    "integrated_gradients": lambda m, x: tpviz.integrated_gradients(m, x, [3, 8], steps=4, batch_size=3),
    "occlusion": lambda m, x: tpviz.occlusion(m, x, [3, 8], patch=24, stride=20, batch_size=5),
}


def _tensors(result: object) -> list[torch.Tensor]:
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, dict):  # axis_sweeps: one Sweep per axis
        return [t for value in result.values() for t in _tensors(value)]
    found = [v for v in vars(result).values() if isinstance(v, torch.Tensor) and v.is_floating_point()]
    return found + [v for d in vars(result).values() if isinstance(d, dict) for v in d.values()
                    if isinstance(v, torch.Tensor)]


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_algorithms_use_it_and_get_the_whole_models_result(name, monkeypatch):
    model, x = small_squeezenet(), images(2, seed=1)
    calls = spy(monkeypatch)
    before = _snapshot(model, x)
    fast = ALGORITHMS[name](model, x)
    _assert_same(before, _snapshot(model, x))  # the caller's model and images are left as they were
    assert calls and all(classes <= 2 for _, classes in calls), calls  # 1 or 2 scores per image, never 10
    calls.clear()
    with head.all_scores():
        ref = ALGORITHMS[name](model, x)
    assert not calls
    for ours, theirs in zip(_tensors(fast), _tensors(ref), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


class Subclass(torchvision.models.SqueezeNet):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * 2


def hooked() -> nn.Module:
    model = small_squeezenet()
    model.classifier.register_forward_hook(lambda m, i, o: None)
    return model


def other_head() -> nn.Module:
    model = small_squeezenet()
    model.classifier[3] = nn.AdaptiveMaxPool2d(1)
    return model


def training() -> nn.Module:
    return small_squeezenet().train()


@pytest.mark.parametrize("make", [hooked, other_head, training, lambda: Subclass("1_1", num_classes=10),
                                  lambda: TinyConv(), lambda: torchvision.models.vgg11(num_classes=10)],
                         ids=["a hook", "max pooling head", "training mode", "a subclass", "TinyConv", "VGG"])
def test_not_used_where_it_could_differ(make):
    model, labels = make(), torch.tensor([1])
    assert head.only_classes(model, labels) == (model, labels)


def test_not_used_under_a_global_hook():
    model, labels = small_squeezenet().eval(), torch.tensor([1])
    assert isinstance(head.only_classes(model, labels)[0], head.ClassScores)
    handle = nn.modules.module.register_module_forward_pre_hook(lambda m, i: None)
    try:
        assert head.only_classes(model, labels)[0] is model
    finally:
        handle.remove()


def test_all_scores_turns_it_off_and_back_on():
    model, labels = small_squeezenet().eval(), torch.tensor([1])
    with head.all_scores():
        assert head.only_classes(model, labels)[0] is model
    assert isinstance(head.only_classes(model, labels)[0], head.ClassScores)


@pytest.mark.parametrize("label", [10, -1, 1000])
def test_a_label_out_of_range_is_a_clear_error(label):
    model = small_squeezenet().eval()
    with pytest.raises(tpviz.InputError, match="outside 0–9"):
        head.only_classes(model, torch.tensor([1, label]))
    with pytest.raises(tpviz.InputError, match="class indices"):
        tpviz.class_visualization(model, label, iterations=1, size=SIZE)


def test_real_squeezenet_class_visualization_is_unchanged(squeezenet):
    # autograd in both (handgrad's backward rounds differently, and 12 ascent steps amplify that: test_handgrad)
    with handgrad.autograd_only():
        fast = tpviz.class_visualization(squeezenet, "snail", iterations=12, snapshots=[6])
        with head.all_scores():
            ref = tpviz.class_visualization(squeezenet, "snail", iterations=12, snapshots=[6])
    torch.testing.assert_close(fast.images, ref.images, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(fast.snapshots[6], ref.snapshots[6], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(fast.score, ref.score, rtol=1e-4, atol=1e-4)
    assert int(fast.predicted) == int(ref.predicted)
