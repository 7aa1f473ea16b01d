"""The input gradient of SqueezeNet's one-class scores, written out by hand for the CPU.

Autograd runs every layer's generic backward. Three of them are slow on a CPU for what SqueezeNet needs, and
the same arithmetic runs faster as plain matrix products (``benchmarks/bench_head.py`` prints the
difference, README Speed):

- the first convolution's input gradient (3 input channels, stride 2): one product (pixels x out-channels)
  @ (out-channels x k·k·3) and k·k strided additions, instead of a transposed convolution that runs at a
  tenth of the machine's rate;
- every 1x1 convolution's input gradient: one product of the channels_last gradient, seen as a matrix
  (pixels x channels), with the weight; no copy;
- the ReLU in front of each max pool is applied to the pooled gradient (a quarter of the size) instead of
  the full one: the pool passes each gradient to the position of its window's maximum, which is that
  ReLU's output, so both masks are the same. The forward likewise applies that ReLU after the pool, to a
  quarter of the values: max and ReLU commute exactly, and where a window's maximum is <= 0 its gradient
  is masked to 0 either way.

``Plan`` checks once that the features are exactly a stem convolution + ReLU followed by max pools and
torchvision ``Fire`` modules; ``scores`` is then an autograd function whose backward is this one. The
forward is the modules' own arithmetic, with the 1x1 convolutions as matrix products too
(``conv_forward()`` runs the convolutions and ``torch.cat`` instead). A Fire's output is never concatenated:
its two expansions stay two channels_last blocks, each pool runs on each block and the next 1x1 sums one
product per block, so neither the forward copies the 3x3 output into a concatenation nor the backward copies
a channel slice of the gradient for the 3x3's backward (7.6 % of an iteration at batch 9, 3.8 % at batch 1:
``benchmarks/bench_commits.py``, README Speed). Tests compare scores and gradients with autograd's
(``tests/test_handgrad.py``); ``autograd_only()`` turns it off (the reference path for tests and benchmarks).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable
from torchvision.models.squeezenet import Fire

from .switch import Switch

_by_hand = Switch(True)
_matmul_forward = Switch(True)
_aten = torch.ops.aten
_ONE, _NONE = (1, 1), (0, 0)
Blocks = tuple[torch.Tensor, ...]  # an activation as channel blocks, each channels_last (N, C_i, h, w)


@dataclass(frozen=True)
class Plan:
    """The layers of SqueezeNet's ``features``: ``stem`` (a convolution followed by ReLU), then max pools and
    ``Fire`` modules in order."""

    stem: nn.Conv2d
    layers: tuple[nn.MaxPool2d | Fire, ...]

    @functools.cached_property
    def params(self) -> tuple[torch.Tensor, ...]:
        """The planned layers' parameters, listed once (``applies`` checks them at every iteration)."""
        return tuple(p for m in (self.stem, *self.layers) for p in m.parameters())


def plan(features: nn.Module) -> Plan | None:
    """The ``Plan`` of ``features`` (a torchvision SqueezeNet's), or None when any layer differs from what
    ``scores`` computes (then autograd runs)."""
    parts = list(features.children()) if type(features) is nn.Sequential else []
    if len(parts) < 3 or type(parts[0]) is not nn.Conv2d or type(parts[1]) is not nn.ReLU:
        return None
    stem, layers = parts[0], tuple(parts[2:])
    if not _plain_conv(stem, padding=_NONE, stride=None) or stem.in_channels > 4:
        return None
    follows_relu = True  # a pool's input must be a ReLU's output (the stem's or a Fire's)
    for layer in layers:
        if type(layer) is nn.MaxPool2d:
            if not follows_relu or layer.return_indices:
                return None
            follows_relu = False
        elif type(layer) is Fire and _plain_fire(layer):
            follows_relu = True
        else:
            return None
    return Plan(stem, layers) if type(layers[-1]) is Fire else None


def applies(plan_: Plan, x: torch.Tensor, *tensors: torch.Tensor | None) -> bool:
    """True when ``scores`` should run for input ``x``: a gradient is being recorded for it, on the CPU, in
    channels_last (where it was measured faster), without autocast, and no weight (``tensors`` and the planned
    layers' parameters) wants a gradient (``scores`` computes none)."""
    return (_by_hand.on and torch.is_grad_enabled() and x.requires_grad and x.device.type == "cpu"
            and x.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last)
            and not torch.is_autocast_enabled("cpu") and not any(t is not None and t.requires_grad for t in tensors)
            and not any(p.requires_grad for p in plan_.params))


def scores(plan_: Plan, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Class scores (N, U) of inputs x (N, C, H, W): the features, then the 1x1 convolution ``weight``
    (U, F, 1, 1) + ``bias`` (U,), ReLU and the mean over positions; differentiable in ``x`` only."""
    out: torch.Tensor = _Scores.apply(x, plan_, weight, bias)
    return out


@contextmanager
def autograd_only() -> Iterator[None]:
    """Inside the block, autograd computes the gradients (the reference path, for tests and benchmarks)."""
    with _by_hand.set(False):
        yield


@contextmanager
def conv_forward() -> Iterator[None]:
    """Inside the block, the forward runs the modules' convolutions and ``torch.cat`` instead of matrix products
    (the reference for tests and benchmarks; the backward is still this module's)."""
    with _matmul_forward.set(False):
        yield


class _Scores(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, plan_, weight, bias):  # type: ignore[no-untyped-def, override]
        tape: list[tuple[object, ...]] = []
        layers = plan_.layers
        a = F.conv2d(x, plan_.stem.weight, plan_.stem.bias, plan_.stem.stride)
        a = a if _pool_at(layers, 0) else a.relu_()  # a ReLU in front of a pool runs after it (module doc)
        tape.append((x, a))
        blocks: Blocks = (a,)
        for i, layer in enumerate(layers):
            inp, relu = blocks, not _pool_at(layers, i + 1)
            if isinstance(layer, nn.MaxPool2d):
                pooled = [F.max_pool2d(b, layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                                       ceil_mode=layer.ceil_mode, return_indices=True) for b in inp]
                blocks = tuple(p.relu_() for p, _ in pooled)
                tape.append((inp, tuple(w for _, w in pooled), blocks))
            elif _matmul_forward.on:
                s = _image(_pointwise(inp, layer.squeeze.weight, layer.squeeze.bias), inp[0]).relu_()
                blocks = (_image(_pointwise((s,), layer.expand1x1.weight, layer.expand1x1.bias), s),
                          F.conv2d(s, layer.expand3x3.weight, layer.expand3x3.bias, padding=1))
                blocks = tuple(b.relu_() for b in blocks) if relu else blocks
                tape.append((inp, s, blocks))
            else:
                s = F.conv2d(torch.cat(inp, 1), layer.squeeze.weight, layer.squeeze.bias).relu_()
                a = torch.cat([F.conv2d(s, layer.expand1x1.weight, layer.expand1x1.bias),
                               F.conv2d(s, layer.expand3x3.weight, layer.expand3x3.bias, padding=1)], 1)
                blocks = _split(a.relu_() if relu else a, layer)
                tape.append((inp, s, blocks))
        z = _image(_pointwise(blocks, weight, bias), blocks[0]) if _matmul_forward.on else \
            F.conv2d(torch.cat(blocks, 1), weight, bias)
        ctx.plan, ctx.tape, ctx.z, ctx.weight = plan_, tape, z, weight
        return z.clamp(min=0).mean((2, 3))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):  # type: ignore[no-untyped-def, override]
        z, weight = ctx.z, ctx.weight
        # d score_u / d z_u = 1/(h·w) where z_u > 0: the head's 1x1 input gradient, over the U rows
        gz = (z > 0).to(z.dtype).mul_(grad[:, :, None, None] / (z.shape[2] * z.shape[3]))
        g = _pointwise_input_grads(gz, weight, _widths(ctx.tape[-1][-1]))  # the last Fire's output blocks
        masked = False  # True when the output ReLU of the next layer down was applied at a pool's output
        for layer, saved in zip(reversed(ctx.plan.layers), reversed(ctx.tape[1:])):
            if isinstance(layer, nn.MaxPool2d):
                inp, where, pooled = saved
                g = [_aten.max_pool2d_with_indices_backward(_aten.threshold_backward(gb, pb, 0), ib, layer.kernel_size,
                                                            layer.stride, layer.padding, layer.dilation,
                                                            layer.ceil_mode, wb)
                     for gb, ib, wb, pb in zip(g, inp, where, pooled)]
                masked = True
            else:
                inp, s, (e1, e3) = saved
                g1, g3 = g if masked else (_aten.threshold_backward(gb, eb, 0) for gb, eb in zip(g, (e1, e3)))
                gs = _pointwise_input_grads(g1, layer.expand1x1.weight, [s.shape[1]])[0]
                gs = gs.add_(_aten.convolution_backward(g3, s, layer.expand3x3.weight, None, _ONE, _ONE, _ONE,
                                                        False, _NONE, 1, (True, False, False))[0])
                g = _pointwise_input_grads(_aten.threshold_backward(gs, s, 0), layer.squeeze.weight, _widths(inp))
                masked = False
        x, a = ctx.tape[0]
        (g,) = g
        g = g if masked else _aten.threshold_backward(g, a, 0)
        return _stem_input_grad(g, ctx.plan.stem, x), None, None, None


def _rows(x: torch.Tensor) -> torch.Tensor:
    """(N, C, h, w) as the matrix (N·h·w, C): a view when x is channels_last."""
    n, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(n * h * w, c)


def _image(rows: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The matrix (N·h·w, K) back as a channels_last (N, K, h, w) view, N, h, w those of ``like``."""
    n, _, h, w = like.shape
    return rows.view(n, h, w, -1).permute(0, 3, 1, 2)


def _widths(blocks: Blocks) -> list[int]:
    """The channel count C_i of each block (N, C_i, h, w)."""
    return [b.shape[1] for b in blocks]


def _split(a: torch.Tensor, fire: Fire) -> Blocks:
    """A Fire's concatenated output (N, K1 + K3, h, w) as its two blocks (channels_last copies)."""
    c1 = fire.expand1x1.out_channels
    return tuple(b.contiguous(memory_format=torch.channels_last) for b in (a[:, :c1], a[:, c1:]))


def _pointwise(blocks: Blocks, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """A 1x1 convolution ``weight`` (K, C, 1, 1) + ``bias`` (K,) of the channel blocks (N, C_i, h, w) of an input
    (C = sum of C_i), as the matrix (N·h·w, K) = sum over blocks of (N·h·w, C_i) @ (C_i, K)."""
    wt = weight.reshape(weight.shape[0], -1).t()
    first, *rest = blocks
    c = first.shape[1]
    out = torch.mm(_rows(first), wt[:c]) if bias is None else torch.addmm(bias, _rows(first), wt[:c])
    for b in rest:
        out.addmm_(_rows(b), wt[c:c + b.shape[1]])
        c += b.shape[1]
    return out


def _pointwise_input_grads(g: torch.Tensor, weight: torch.Tensor, widths: list[int]) -> list[torch.Tensor]:
    """The input gradient of a 1x1 convolution ``weight`` (K, C, 1, 1) given its output's gradient g (N, K, h, w),
    one channels_last block (N, C_i, h, w) per width C_i (sum C): (N·h·w, K) @ (K, C_i) each."""
    w, rows, out, start = weight.reshape(g.shape[1], -1), _rows(g), [], 0
    for c in widths:
        out.append(_image(rows @ w[:, start:start + c], g))
        start += c
    return out


def _pool_at(layers: tuple[nn.MaxPool2d | Fire, ...], i: int) -> bool:
    return i < len(layers) and isinstance(layers[i], nn.MaxPool2d)


def _stem_input_grad(g: torch.Tensor, conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """The input gradient (N, C, H, W) of ``conv`` (unpadded, weight (K, C, k, k), stride s) given its
    output's gradient g (N, K, h, w): each output position's k·k·C patch gradient in one product, then each
    kernel offset's patches added at their strided positions."""
    n, k_out, h, w = g.shape
    _, c, kh, kw = conv.weight.shape
    sy, sx = conv.stride
    patches = _rows(g) @ conv.weight.permute(0, 2, 3, 1).reshape(k_out, -1)
    patches = patches.view(n, h, w, kh, kw, c)
    out = torch.zeros(n, x.shape[2], x.shape[3], c, dtype=g.dtype, device=g.device)
    for i in range(kh):
        for j in range(kw):  # add_ on the slice: `+=` would then copy the slice onto itself
            out[:, i:i + sy * (h - 1) + 1:sy, j:j + sx * (w - 1) + 1:sx, :].add_(patches[:, :, :, i, j, :])
    return out.permute(0, 3, 1, 2)


def _plain_conv(conv: nn.Module, *, padding: tuple[int, int], stride: tuple[int, int] | None = _ONE) -> bool:
    return (type(conv) is nn.Conv2d and conv.groups == 1 and conv.dilation == _ONE and conv.padding == padding
            and conv.padding_mode == "zeros" and (stride is None or conv.stride == stride))


def _plain_fire(fire: Fire) -> bool:
    kinds = [type(m) for m in fire.children()]
    squeeze, e1, e3 = fire.squeeze, fire.expand1x1, fire.expand3x3
    return (kinds == [nn.Conv2d, nn.ReLU, nn.Conv2d, nn.ReLU, nn.Conv2d, nn.ReLU]
            and _plain_conv(squeeze, padding=_NONE) and squeeze.kernel_size == _ONE
            and _plain_conv(e1, padding=_NONE) and e1.kernel_size == _ONE
            and _plain_conv(e3, padding=_ONE) and e3.kernel_size == (3, 3)
            and e1.in_channels == e3.in_channels == squeeze.out_channels)
