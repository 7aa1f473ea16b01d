"""Compute only the class scores an algorithm needs, where the model's head allows it exactly.

SqueezeNet's classifier is dropout, a 1x1 convolution from 512 channels to one per class, ReLU and global
average pooling: class k's score depends only on row k of that convolution. The convolution is ~25% of
SqueezeNet 1.1's forward FLOPs (13x13 positions x 512 x 1000), and as much again in the input gradient, while
a class visualization, SmoothGrad, integrated gradients or occlusion needs one score per image.
``only_classes`` gives a module that computes the rows of the classes asked for, and nothing else: the same
arithmetic on the same weights (``benchmarks/bench_head.py`` prints the time it saves). Other models,
and any model with a hook or in training mode, are returned as they are (a hook must see every score).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import SqueezeNet

from . import handgrad, layout
from .inputs import check_label_range
from .switch import Switch

_one_class = Switch(True)


class ClassScores(nn.Module):
    """SqueezeNet restricted to U classes: inputs (N, 3, H, W) -> their scores (N, U), in the rows' order.

    ``features`` and the classifier's dropout, ReLU and pooling are the model's own modules (shared, not
    copied); ``weight`` (U, 512, 1, 1) and ``bias`` (U,) are the chosen rows of its last convolution. Where
    ``handgrad.applies`` (a channels_last CPU input that wants a gradient), the input gradient is handgrad's.
    """

    def __init__(self, model: SqueezeNet, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.features, self.dropout, self.relu, self.pool = (model.features, model.classifier[0],
                                                             model.classifier[2], model.classifier[3])
        self.weight, self.bias = weight, bias
        self.plan = handgrad.plan(model.features)  # None: autograd computes the input gradient

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.plan is not None and not self.dropout.training and handgrad.applies(self.plan, x, self.weight, self.bias):
            return handgrad.scores(self.plan, x, self.weight, self.bias)  # the same scores; a faster backward
        x = F.conv2d(self.dropout(self.features(x)), self.weight, self.bias)
        return torch.flatten(self.pool(self.relu(x)), 1)


def only_classes(model: nn.Module, labels: torch.Tensor) -> tuple[nn.Module, torch.Tensor]:
    """(scorer, index): ``score(scorer(x), index)`` is ``score(model(x), labels)``, each (N,).

    ``scorer`` computes only the distinct classes of ``labels`` (N,) when ``model`` (or the channels_last
    copy that ``layout.runner`` returns) is a plain torchvision SqueezeNet in eval mode without hooks;
    otherwise it is ``model`` and ``index`` is ``labels``. Raises ``InputError`` for a label out of range.
    """
    inner = model.fast if isinstance(model, layout.Converted) else model
    head = _head(inner)
    if head is None or not _one_class.on:
        return model, labels
    check_label_range(labels, head.out_channels)
    classes, index = torch.unique(labels, return_inverse=True)
    with torch.no_grad():
        weight = head.weight.index_select(0, classes)
        bias = None if head.bias is None else head.bias.index_select(0, classes)
    scorer = ClassScores(inner, weight, bias)
    return (model.around(scorer) if isinstance(model, layout.Converted) else scorer), index


@contextmanager
def all_scores() -> Iterator[None]:
    """Inside the block, algorithms compute every class score (the reference path, for tests and benchmarks)."""
    with _one_class.set(False):
        yield


def _head(model: nn.Module) -> nn.Conv2d | None:
    """SqueezeNet's last convolution, when ``model`` is exactly torchvision's SqueezeNet with its classifier
    (dropout, 1x1 conv, ReLU, global average pooling), in eval mode and without hooks; else None."""
    if type(model) is not SqueezeNet or not layout.hook_free(model):
        return None
    parts = list(model.classifier)
    kinds = (nn.Dropout, nn.Conv2d, nn.ReLU, nn.AdaptiveAvgPool2d)
    if len(parts) != 4 or not all(type(p) is k for p, k in zip(parts, kinds)):
        return None
    conv, pool = parts[1], parts[3]
    one = (1, 1)
    if (conv.kernel_size, conv.stride, conv.padding, conv.dilation, conv.groups) != (one, one, (0, 0), one, 1) \
            or conv.padding_mode != "zeros" or pool.output_size not in (1, one):
        return None
    return conv
