"""tpviz.architecture_facts: every number checked against an independent computation (random weights suffice)."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch import nn

import tpviz
from tpviz.imagenet.architecture import longest_weight_path, receptive_field

VGG16_CONFIG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


@pytest.fixture(scope="module")
def models() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {"squeezenet1_1": torchvision.models.squeezenet1_1(), "vgg16": torchvision.models.vgg16()}


@pytest.fixture(scope="module")
def facts(models) -> dict[str, dict]:
    return {name: tpviz.architecture_facts(m) for name, m in models.items()}


def _macs_by_hooks(model: nn.Module) -> int:
    """Multiply-adds of every convolution and linear layer, from their output shapes (forward hooks)."""
    total = 0

    def count(module: nn.Module, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += out.numel() * module.in_channels // module.groups * kh * kw
        else:
            total += out.numel() * module.in_features

    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, 224, 224))
    finally:
        for h in handles:
            h.remove()
    return total


def _vgg16_by_hand() -> tuple[int, int, int]:
    """(parameters, receptive field of the last conv, spatial size before the head) from VGG16's layer list."""
    params, cin, rf, jump, size = 0, 3, 1, 1, 224
    for item in VGG16_CONFIG:
        if item == "M":
            rf, jump, size = rf + jump, jump * 2, size // 2
            last_pool = rf
        else:
            params += cin * item * 9 + item
            cin, rf = item, rf + 2 * jump
            last_conv = rf
    params += 512 * 7 * 7 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    assert last_pool == last_conv + 16
    return params, last_conv, size


def _squeezenet_walk(model: nn.Module) -> tuple[int, int]:
    """(receptive field at the last conv, spatial size of ``features``, size after the first pooling) walking
    ``features`` in order: a fire module's widest path is squeeze (1x1) then expand3x3; the head's conv10 is 1x1."""
    rf, jump, size, first_pool = 1, 1, 224, None
    for layer in model.features:
        windows = [layer.squeeze, layer.expand3x3] if isinstance(layer, torchvision.models.squeezenet.Fire) else [layer]
        for w in windows:
            if isinstance(w, (nn.Conv2d, nn.MaxPool2d)):
                k = w.kernel_size if isinstance(w.kernel_size, int) else w.kernel_size[0]
                s = w.stride if isinstance(w.stride, int) else w.stride[0]
                p = w.padding if isinstance(w.padding, int) else w.padding[0]
                rf, jump = rf + (k - 1) * jump, jump * s
                rnd = math.ceil if getattr(w, "ceil_mode", False) else math.floor
                size = rnd((size + 2 * p - k) / s) + 1
                if isinstance(w, nn.MaxPool2d) and first_pool is None:
                    first_pool = size
    return rf, size, first_pool


def test_vgg16_facts_match_its_layer_list(facts):
    f = facts["vgg16"]
    params, rf, size = _vgg16_by_hand()
    assert f["parameters_M"] == round(params / 1e6, 2)
    assert f["weight_layers_longest_path"] == sum(1 for x in VGG16_CONFIG if x != "M") + 3  # 13 conv + 3 fc
    assert f["receptive_field_px"] == rf
    assert f["map_before_head"] == f"{size}x{size}"
    assert f["map_after_first_pool"] == "112x112"  # two stride-1 convolutions, then the first 2x2 pooling
    assert "fully connected" in f["head"] and "25088" in f["head"]


def test_squeezenet_facts_match_a_walk_of_its_modules(models, facts):
    m, f = models["squeezenet1_1"], facts["squeezenet1_1"]
    fires = sum(isinstance(x, torchvision.models.squeezenet.Fire) for x in m.modules())
    assert f["weight_layers_longest_path"] == 1 + 2 * fires + 1  # conv1, squeeze->expand per fire, conv10
    assert f["parameters_M"] == round(sum(v.numel() for v in m.state_dict().values()) / 1e6, 2)
    rf, size, first_pool = _squeezenet_walk(m)
    assert f["map_after_first_pool"] == f"{first_pool}x{first_pool}" == "55x55"  # 224 -> 111 -> 55
    assert f["receptive_field_px"] == rf
    assert f["map_before_head"] == f"{size}x{size}"
    assert "averaged" in f["head"] and f"{size}x{size}" in f["head"] and "ReLU" in f["head"]


@pytest.mark.parametrize("name", ["squeezenet1_1", "vgg16"])
def test_macs_match_hooks(models, facts, name):
    assert facts[name]["GMACs"] == round(_macs_by_hooks(models[name]) / 1e9, 2)


def test_the_two_architectures_differ_as_the_notebooks_say(facts):
    s, v = facts["squeezenet1_1"], facts["vgg16"]
    assert s["weight_layers_longest_path"] > v["weight_layers_longest_path"]  # SqueezeNet is not shallower
    assert v["parameters_M"] > 100 * s["parameters_M"] and v["GMACs"] > 40 * s["GMACs"]


class Branchy(nn.Module):
    """conv 3x3 -> {conv 3x3 stride 2 -> conv 5x5 | conv 1x1} -> add -> linear: longest path 4 weight layers;
    receptive field 1 + 2 + 2 + 4*2 = 13 at the last conv (the 5x5 after the stride-2 conv)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b1 = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.b2 = nn.Conv2d(4, 4, 5, padding=2)
        self.c = nn.Conv2d(4, 4, 1, stride=2)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.a(x)
        return self.fc((self.b2(self.b1(h)) + self.c(h)).mean(dim=(2, 3)))


def test_hand_computed_branchy_model():
    m = Branchy()
    assert longest_weight_path(m) == 4
    assert receptive_field(m) == 13


def test_model_left_as_found(models):
    m = models["squeezenet1_1"].train()
    m.classifier.eval()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    tpviz.architecture_facts(m)
    assert m.training and not m.classifier.training and m.features.training
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in before.items())
    assert all(p.grad is None for p in m.parameters())


def test_bad_size_is_refused(models):
    with pytest.raises(tpviz.InputError):
        tpviz.architecture_facts(models["squeezenet1_1"], size=2.5)
