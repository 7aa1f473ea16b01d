"""Run a model for gradients w.r.t. its input only, and leave it exactly as it was found."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .inputs import check_model


@contextmanager
def frozen_eval(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and frozen parameters inside the block; every module's training flag and every
    parameter's ``requires_grad`` are restored on exit, also when the block raises.

    Eval mode makes Dropout deterministic, whatever cell ran before; freezing the parameters means
    backward computes the input gradient only (no weight-gradient kernels, no ``.grad``). Inference mode is off
    inside (gradients work even when the caller runs the algorithm within ``torch.inference_mode()``).
    """
    check_model(model)
    modes = [(m, m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        model.eval()
        for p, _ in flags:
            p.requires_grad_(False)
        with torch.inference_mode(False):
            yield model
    finally:
        for m, training in modes:
            m.training = training
        for p, flag in flags:
            p.requires_grad_(flag)
