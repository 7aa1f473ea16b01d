"""Occlusion: how much a class score drops when a square patch of the image is greyed out."""

from __future__ import annotations

import torch
from torch import nn

from .. import validate
from . import layout
from .gradients import forward, score
from .head import only_classes
from .inputs import Labels, as_labels, check_device, check_images, check_label_range
from .progress import Progress, reporting
from .scope import frozen_eval


def occlusion(model: nn.Module, x: torch.Tensor, y: Labels, *, patch: int = 32, stride: int = 16,
              value: float = 0.0, batch_size: int = 32, progress: Progress = False) -> torch.Tensor:
    """Occlusion maps (N, H, W): score_y(x) - score_y(x with a patch set to ``value``), per pixel the mean
    over the patches that cover it.

    Patches of ``patch`` x ``patch`` pixels start every ``stride`` pixels (and at the last row and column,
    so every pixel is covered); with ``stride == patch`` each pixel carries the drop of its own patch.
    ``value`` is in model-input units: the default 0 is ImageNet's mean colour, a neutral grey. Positive:
    hiding the patch lowers the score (the patch was evidence for y); negative: it raises it. Occluded
    copies go through the model ``batch_size`` at a time, without gradients; model and ``x`` are left as
    they were found. ``progress``: True for a progress bar, or a function ``progress(done, total)``.

    Reference: Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014.
    """
    x = check_images(x)
    check_device(model, x)
    labels = as_labels(y, x.shape[0], device=x.device)
    n, _, h, w = x.shape
    patch = validate.count(patch, "patch", high=min(h, w), hint=f"(a side in pixels, at most the image's {min(h, w)})")
    stride = validate.count(stride, "stride", hint="(pixels between patch starts, e.g. patch // 2)")
    value = validate.number(value, "value", hint="(model-input units: 0 is ImageNet's mean colour)")
    batch_size = validate.count(batch_size, "batch_size")
    spots = [(r, c) for r in _starts(h, patch, stride) for c in _starts(w, patch, stride)]
    total = n * len(spots)
    drops = torch.zeros(n, h, w, dtype=x.dtype, device=x.device)
    covered = torch.zeros(h, w, dtype=x.dtype, device=x.device)
    for r, c in spots:
        covered[r:r + patch, c:c + patch] += 1
    with frozen_eval(model), torch.no_grad(), reporting(progress, total, desc="occlusion") as update:
        # the layout fastest on its device, only the labels' scores; the caller's model is not changed
        model, index = only_classes(layout.runner(model), labels)
        logits = forward(model, x)
        check_label_range(index, logits.shape[1])
        base = score(logits, index)
        for start in range(0, total, batch_size):
            flat = range(start, min(start + batch_size, total))
            images = [k // len(spots) for k in flat]
            copies = x[images].clone()
            for j, k in enumerate(flat):
                r, c = spots[k % len(spots)]
                copies[j, :, r:r + patch, c:c + patch] = value
            idx = torch.tensor(images, device=x.device)
            drop = base[idx] - score(forward(model, copies), index[idx])
            for j, k in enumerate(flat):
                r, c = spots[k % len(spots)]
                drops[images[j], r:r + patch, c:c + patch] += drop[j]
            update(flat.stop)
    return drops / covered


def _starts(size: int, patch: int, stride: int) -> list[int]:
    """Patch starts 0, stride, 2*stride, ... and size - patch, so the last pixels are covered too."""
    starts = list(range(0, size - patch + 1, stride))
    return starts if starts[-1] == size - patch else [*starts, size - patch]
