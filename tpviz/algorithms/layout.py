"""Run a model in the memory layout fastest on its device, without changing the caller's model.

Every algorithm (saliency, SmoothGrad, integrated gradients, occlusion, linearity, the attacks, class
visualization) calls ``runner(model)`` once per call. It returns what to call instead of ``model``: the model itself, or a cached
copy whose 4-D convolution weights are channels_last (every other parameter and buffer is *shared* with the
caller's model, not copied), wrapped so that it takes and returns tensors in the caller's layout. Measured
on the 2-core CPU (``benchmarks/bench_layout.py``, README Speed): forward + input gradient in 0.66-0.77x the
time for SqueezeNet and 0.53-0.75x for VGG16, at batch 1 and 5 (VGG16 needs its weights converted too: the
input alone was slower in one run).

The copy costs the convolution weights only: ~5 MB for SqueezeNet 1.1, ~59 MB for VGG16 (its 123 M
fully-connected parameters, 490 MB, are shared), so it is cached for both, in a ``WeakKeyDictionary`` keyed
by the model (it goes when the model goes). It is checked at each ``runner`` call (once per algorithm call):
rebuilt when a parameter or buffer was replaced, moved or recast (identity, data pointer, shape, dtype,
device), and its weights copied again when their values differ (``torch.equal``, which also catches
writes through ``p.data`` that leave ``p._version`` alone).

``bfloat16()`` opts into bf16 autocast for the forward and backward (the logits come back as float32).
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from .switch import Switch

# Where channels_last was measured faster for convolutional models (README, Speed). CUDA: cuDNN's NHWC
# kernels are the fast path for bf16 and TF32 (PyTorch's performance guide); not measured here (no GPU lent).
CHANNELS_LAST_DEVICES = ("cpu", "cuda")

_lock = threading.Lock()
_copies: weakref.WeakKeyDictionary[nn.Module, _Copy] = weakref.WeakKeyDictionary()
_channels_last, _bfloat16 = Switch(True), Switch(False)

Signature = tuple[tuple[int, int, tuple[int, ...], torch.dtype, torch.device], ...]


@dataclass
class _Copy:
    signature: Signature
    module: nn.Module
    weights: list[tuple[torch.Tensor, torch.Tensor]]  # (caller's 4-D weight, its channels_last copy)


class Converted(nn.Module):
    """Calls ``fast`` (the model or its channels_last copy) on inputs (N, C, H, W) converted to
    ``memory_format``, optionally under bf16 autocast; returns float logits (N, K)."""

    def __init__(self, fast: nn.Module, *, memory_format: torch.memory_format, bf16: bool) -> None:
        super().__init__()
        self.fast, self.memory_format, self.bf16 = fast, memory_format, bf16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=self.memory_format) if x.ndim == 4 else x
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            out = self.fast(x)
        half = (torch.bfloat16, torch.float16)  # bf16 autocast's logits back in float32; float64 stays float64
        return out.float() if isinstance(out, torch.Tensor) and out.dtype in half else out

    def around(self, fast: nn.Module) -> Converted:
        """The same conversion around another module (e.g. a part of ``self.fast``)."""
        return Converted(fast, memory_format=self.memory_format, bf16=self.bf16)


@contextmanager
def plain() -> Iterator[None]:
    """Inside the block, algorithms run the caller's model as it is (the reference path, for tests and benchmarks)."""
    with _channels_last.set(False):
        yield


@contextmanager
def bfloat16() -> Iterator[None]:
    """Inside the block, the model runs under bf16 autocast (faster where the hardware has bf16 units; the
    images of a class visualization are then evaluated in float32, so its predicted class says whether they
    still show the class)."""
    with _bfloat16.set(True):
        yield


def runner(model: nn.Module, *, autocast: bool = True) -> nn.Module:
    """What to call instead of ``model``: ``model`` itself, or a ``Converted`` cached copy in channels_last
    (``autocast=False``: in float32 even inside ``bfloat16()``, e.g. to evaluate the images).

    The copy is used when the model has 4-D convolution weights on a device of ``CHANNELS_LAST_DEVICES``, is
    in eval mode (call inside ``frozen_eval``), and carries no hooks (a hook must see the caller's modules).
    """
    bf16 = _bfloat16.on and autocast
    if not _channels_last.on or not _eligible(model):
        return Converted(model, memory_format=torch.contiguous_format, bf16=True) if bf16 else model
    with _lock:
        entry = _copies.get(model)
        signature = _signature(model)
        if entry is None or entry.signature != signature:
            entry = _copies[model] = _convert(model, signature)
        else:
            for theirs, ours in entry.weights:
                if not torch.equal(theirs, ours):
                    with torch.no_grad():
                        ours.copy_(theirs)
    return Converted(entry.module, memory_format=torch.channels_last, bf16=bf16)


def copy_bytes(model: nn.Module) -> int:
    """What the channels_last copy of ``model`` costs in memory: its 4-D weights, in bytes."""
    return sum(p.numel() * p.element_size() for p in model.parameters() if p.ndim == 4)


def like(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``grad`` (shaped like ``x``) in ``x``'s memory layout: a gradient handed back in the caller's layout."""
    return grad if grad.stride() == x.stride() else torch.empty_like(x).copy_(grad)


def hook_free(model: nn.Module) -> bool:
    """True when ``model`` and every submodule are in eval mode and no hook (theirs or global) would see them:
    then a copy or a part of the model computes what the model would."""
    hooks = nn.modules.module
    if (hooks._global_forward_hooks or hooks._global_forward_pre_hooks or hooks._global_backward_hooks
            or hooks._global_backward_pre_hooks):
        return False
    return not any(m.training or m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
                   or getattr(m, "_backward_pre_hooks", None) for m in model.modules())


def _eligible(model: nn.Module) -> bool:
    params = list(model.parameters())
    if not params or params[0].device.type not in CHANNELS_LAST_DEVICES or not any(p.ndim == 4 for p in params):
        return False
    return hook_free(model)


def _signature(model: nn.Module) -> Signature:
    tensors = [*model.parameters(), *model.buffers()]
    return tuple((id(t), t.data_ptr(), tuple(t.shape), t.dtype, t.device) for t in tensors)


def _convert(model: nn.Module, signature: Signature) -> _Copy:
    """A copy of the module tree sharing every tensor but the 4-D weights, which are copied channels_last."""
    memo: dict[int, object] = {id(t): t for t in model.buffers()}
    weights = []
    for p in model.parameters():
        if p.ndim == 4:
            ours = nn.Parameter(p.detach().clone(memory_format=torch.channels_last), requires_grad=False)
            weights.append((p, ours))
        memo[id(p)] = ours if p.ndim == 4 else p
    module = copy.deepcopy(model, memo).eval()
    return _Copy(signature=signature, module=module, weights=weights)
