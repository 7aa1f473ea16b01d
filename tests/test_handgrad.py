"""SqueezeNet's input gradient written out by hand (tpviz/algorithms/handgrad.py): the same scores and gradients
as autograd's, for both SqueezeNet versions, any image size, several classes and any output gradient; used by
class visualization on a channels_last CPU copy; never used where it could differ (weights that want a
gradient, autocast, the plain layout, a changed architecture)."""

from __future__ import annotations

import contextlib

import pytest
import torch
import torchvision
from torch import nn
from torchvision.models.squeezenet import Fire

import tpviz
from tpviz.algorithms import handgrad, head, layout

VERSIONS = {"1.1": torchvision.models.squeezenet1_1, "1.0": torchvision.models.squeezenet1_0}


def random_squeezenet(version: str = "1.1", classes: int = 10, dtype: torch.dtype = torch.float64) -> nn.Module:
    """A random SqueezeNet with positive biases everywhere, so that most ReLUs pass and most classes score."""
    torch.manual_seed(0)
    model = VERSIONS[version](num_classes=classes).to(dtype).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d) and m.bias is not None:
                m.bias.uniform_(0.0, 0.1)
        model.classifier[1].bias.uniform_(0.5, 1.0)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def scorer_of(model: nn.Module, labels: list[int]) -> tuple[nn.Module, head.ClassScores]:
    scorer, _ = head.only_classes(layout.runner(model), torch.tensor(labels))
    inner = scorer.fast if isinstance(scorer, layout.Converted) else scorer
    assert isinstance(inner, head.ClassScores)
    return scorer, inner


def scores_and_gradient(scorer: nn.Module, x: torch.Tensor, grad_out: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor, str]:
    leaf = x.clone().requires_grad_(True)
    out = scorer(leaf)
    (grad,) = torch.autograd.grad(out, leaf, grad_out)
    return out.detach(), grad, type(out.grad_fn).__name__


@pytest.mark.parametrize("version", list(VERSIONS))
@pytest.mark.parametrize("size", [224, 97, 64])
def test_scores_and_gradients_equal_autograds(version, size):
    model = random_squeezenet(version)
    scorer, inner = scorer_of(model, [3, 7, 3, 9])
    assert inner.plan is not None
    gen = torch.Generator().manual_seed(size)
    x = torch.randn(2, 3, size, size, generator=gen, dtype=torch.float64)
    grad_out = torch.randn(2, 3, generator=gen, dtype=torch.float64)  # any output gradient, not only one-hot
    out, grad, fn = scores_and_gradient(scorer, x, grad_out)
    with handgrad.autograd_only():
        ref_out, ref, ref_fn = scores_and_gradient(scorer, x, grad_out)
    with handgrad.conv_forward():  # the reference forward: the modules' convolutions and torch.cat
        conv_out, conv_grad, conv_fn = scores_and_gradient(scorer, x, grad_out)
    assert fn == conv_fn == "_ScoresBackward" and ref_fn != fn  # each path ran
    for o, g in ((out, grad), (conv_out, conv_grad)):
        torch.testing.assert_close(o, ref_out, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(g, ref, rtol=1e-10, atol=1e-12)
    assert (ref != 0).float().mean() > 0.5  # a gradient that reaches most pixels, so the comparison means something


def test_float32_gradient_agrees_to_rounding():
    model = random_squeezenet(dtype=torch.float32)
    scorer, _ = scorer_of(model, [4])
    x = torch.randn(3, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    grad_out = torch.ones(3, 1)
    out, grad, _ = scores_and_gradient(scorer, x, grad_out)
    with handgrad.autograd_only():
        ref_out, ref, _ = scores_and_gradient(scorer, x, grad_out)
    torch.testing.assert_close(out, ref_out)
    assert float((grad - ref).abs().max() / ref.abs().max()) < 1e-5


def test_class_visualization_runs_it_and_matches_before_the_paths_drift():
    """The ascent amplifies rounding differences (a ReLU or a pool that flips after a few steps: the plain
    and channels_last layouts drift apart the same way), so the images are compared after 5 iterations."""
    model = random_squeezenet(dtype=torch.float32, classes=1000)
    calls = []
    real = handgrad.scores

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(handgrad, "scores", counted)
        fast = tpviz.class_visualization(model, 5, iterations=5, size=96)
    assert len(calls) == 5
    with handgrad.autograd_only():
        ref = tpviz.class_visualization(model, 5, iterations=5, size=96)
    torch.testing.assert_close(fast.images, ref.images, rtol=1e-5, atol=1e-5)


def test_real_squeezenet_gradient_and_class_visualization(squeezenet, val5):
    x, labels = tpviz.preprocess(val5.images[:3]), torch.as_tensor(val5.labels[:3])
    scorer, _ = scorer_of(squeezenet, labels.tolist())
    _, index = head.only_classes(layout.runner(squeezenet), labels)
    grad_out = nn.functional.one_hot(index).float()
    with tpviz.frozen_eval(squeezenet):
        _, grad, fn = scores_and_gradient(scorer, x, grad_out)
        with handgrad.autograd_only():
            _, ref, _ = scores_and_gradient(scorer, x, grad_out)
    assert fn == "_ScoresBackward"
    assert float((grad - ref).abs().max() / ref.abs().max()) < 1e-5
    snail = tpviz.class_visualization(squeezenet, "snail", iterations=60)
    assert int(snail.predicted) == int(snail.target)  # the image it grows shows the class


@pytest.mark.parametrize("case", ["weights want a gradient", "autocast", "plain layout", "no gradient", "all off"])
def test_autograd_runs_where_the_hand_backward_could_differ(case):
    model = random_squeezenet(dtype=torch.float32)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    blocks = {"autocast": layout.bfloat16(), "plain layout": layout.plain(), "all off": handgrad.autograd_only()}
    with blocks.get(case, contextlib.nullcontext()):
        scorer, inner = scorer_of(model, [1])
        if case == "weights want a gradient":
            inner.features[3].expand3x3.weight.requires_grad_(True)
        leaf = x.clone().requires_grad_(case != "no gradient")
        out = scorer(leaf)
    assert type(out.grad_fn).__name__ != "_ScoresBackward"


def _fire_subclass() -> nn.Module:
    class MyFire(Fire):
        pass
    model = random_squeezenet()
    old = model.features[3]
    model.features[3] = MyFire(old.squeeze.in_channels, old.squeeze.out_channels,
                               old.expand1x1.out_channels, old.expand3x3.out_channels).double()
    return model


def _changed(change: str) -> nn.Module:
    model = random_squeezenet()
    f = model.features
    if change == "stem padding":
        f[0].padding = (1, 1)
    elif change == "pool first":
        model.features = nn.Sequential(f[2], *f)
    elif change == "ends in a pool":
        model.features = nn.Sequential(*f, nn.MaxPool2d(2))
    elif change == "pool returns indices":
        f[2].return_indices = True
    elif change == "leaky relu":
        f[3].squeeze_activation = nn.LeakyReLU()
    elif change == "expand dilated":
        f[3].expand3x3.dilation = (2, 2)
    elif change == "extra layer":
        model.features = nn.Sequential(*f, nn.BatchNorm2d(512))
    elif change == "a Fire subclass":
        return _fire_subclass()
    return model


@pytest.mark.parametrize("change", ["stem padding", "pool first", "ends in a pool", "pool returns indices",
                                    "leaky relu", "expand dilated", "extra layer", "a Fire subclass"])
def test_plan_refuses_what_it_does_not_compute(change):
    assert handgrad.plan(random_squeezenet().features) is not None
    assert handgrad.plan(_changed(change).features) is None


@pytest.mark.parametrize("kernel,stride", [((3, 3), (1, 1)), ((3, 3), (3, 3)), ((2, 5), (4, 2)), ((7, 7), (2, 3))])
def test_any_stem_kernel_and_stride(kernel, stride):
    """The stem's input gradient (one product, then one strided addition per kernel offset) is right for other
    stems than SqueezeNet's: a stride of 1, a stride equal to or larger than the kernel, a non-square kernel and
    stride (which catches rows and columns mixed up)."""
    model = random_squeezenet()
    old = model.features[0]
    model.features[0] = nn.Conv2d(old.in_channels, old.out_channels, kernel, stride=stride).double().eval()
    for p in model.features[0].parameters():
        p.requires_grad_(False)
    assert_hand_equals_autograd(model, [2], size=(83, 90), seed=3)


def test_fire_modules_with_unequal_expansions():
    """A Fire's two expansions are kept as two blocks of their own widths: torchvision's SqueezeNets have
    equal ones, so two Fire modules get unequal ones here (the one before the last pool, and the last one)."""
    model = random_squeezenet()
    f = model.features
    for i, (e1, e3) in ((7, (100, 156)), (12, (200, 312))):  # fire5 (before a pool) and fire9 (before the head)
        old = f[i]
        assert isinstance(old, Fire) and e1 + e3 == old.expand1x1.out_channels + old.expand3x3.out_channels
        f[i] = Fire(old.squeeze.in_channels, old.squeeze.out_channels, e1, e3).double().eval().requires_grad_(False)
        with torch.no_grad():
            for m in f[i].modules():
                if isinstance(m, nn.Conv2d):
                    m.bias.uniform_(0.0, 0.1)
    assert_hand_equals_autograd(model, [1, 6], size=(97, 97), seed=5)


def assert_hand_equals_autograd(model: nn.Module, labels: list[int], *, size: tuple[int, int], seed: int) -> None:
    """The hand-written path runs for ``model`` and gives autograd's scores and input gradient (float64), for
    two random images and a random output gradient, and the gradient reaches most pixels."""
    scorer, inner = scorer_of(model, labels)
    assert inner.plan is not None
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, *size, generator=gen, dtype=torch.float64)
    grad_out = torch.randn(2, len(set(labels)), generator=gen, dtype=torch.float64)
    out, grad, fn = scores_and_gradient(scorer, x, grad_out)
    with handgrad.autograd_only():
        ref_out, ref, _ = scores_and_gradient(scorer, x, grad_out)
    assert fn == "_ScoresBackward"
    torch.testing.assert_close(out, ref_out, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, ref, rtol=1e-10, atol=1e-12)
    assert (ref != 0).float().mean() > 0.3
