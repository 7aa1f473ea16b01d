"""What bench_classviz compares tpviz's class visualization with: torch-lucent's ``render_vis`` (its README
defaults, frozen model), a minimal CS231n loop, and the FLOP floor measured on this machine."""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import tpviz
from tpviz.imagenet.images import pixel_bounds

SNAIL = 113


def lucent_run(model: nn.Module, iterations: int) -> None:
    """``render_vis`` with its README defaults (a 128-pixel FFT-decorrelated image upsampled to 224, Adam
    lr 0.05, the standard transforms) on the class's channel of SqueezeNet's last convolution, on a fresh copy
    of the frozen model (render_vis leaves its hooks on the model, and they pile up call after call)."""
    from lucent.optvis import render

    render.render_vis(copy.deepcopy(model), f"classifier_1:{SNAIL}", thresholds=(iterations,), show_image=False,
                      progress=False)


def minimal_loop(model: nn.Module, iterations: int, *, lr: float = 5.0, l2_reg: float = 1e-3) -> torch.Tensor:
    """CS231n's loop written plainly on a frozen model: roll-jitter, normalised step of score - l2·||x||², roll
    back, clamp, blur every 10 (tpviz's transforms), autograd.grad w.r.t. the image only."""
    rng = random.Random(0)
    img = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    lo, hi = pixel_bounds(img)
    for t in range(iterations):
        dx, dy = rng.randint(0, 16), rng.randint(0, 16)
        x = tpviz.jitter(img, dx, dy).requires_grad_(True)
        objective = model(x)[0, SNAIL] - l2_reg * (x * x).sum()
        (g,) = torch.autograd.grad(objective, x)
        img = tpviz.jitter((x + lr * g / g.norm()).detach(), -dx, -dy).clamp_(lo, hi)
        if t % 10 == 0:
            img = tpviz.gaussian_blur(img, 0.5)
    return img


def largest_conv(model: nn.Module, device: torch.device, *, calls: int = 20
                 ) -> tuple[dict[str, Callable[[], None]], int, str]:
    """(runs, flops, which conv): each of ``runs`` (by layout: "channels_last", "plain") calls the model's
    largest convolution ``calls`` times at batch 1 in that layout, forward only; ``flops`` is what those calls
    compute. Timed beside the iterations (``timed``, alternating) so that the rate they give meets the same
    machine noise as the iterations do; the floor takes the faster layout's best run."""
    x = torch.randn(1, 3, 224, 224, device=device)
    shapes: dict[str, tuple[nn.Conv2d, torch.Size, int]] = {}
    handles = [m.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(
        name, (m, i[0].shape, 2 * o.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])))
        for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    name, (conv, shape, flops) = max(shapes.items(), key=lambda kv: kv[1][2])
    runs = {}
    for layout, fmt in (("channels_last", torch.channels_last), ("plain", torch.contiguous_format)):
        layer = copy.deepcopy(conv).to(memory_format=fmt)
        inp = torch.randn(shape, device=device).contiguous(memory_format=fmt)

        def run(layer: nn.Conv2d = layer, inp: torch.Tensor = inp) -> None:
            with torch.no_grad():
                for _ in range(calls):
                    layer(inp)

        runs[layout] = run
    return runs, calls * flops, f"{name} {tuple(conv.weight.shape)} ({flops / 1e6:.0f} MFLOP)"


def forward_flops(model: nn.Module, device: torch.device) -> int:
    """FLOPs of one forward pass at batch 1, 224x224 (torch's FlopCounterMode: 2 per multiply-add)."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, 3, 224, 224, device=device))
    return counter.get_total_flops()


def conv_floor(model: nn.Module, device: torch.device, repeats: int = 20) -> float:
    """Seconds: every convolution's forward + input gradient, each timed alone at batch 1 in channels_last (best
    of ``repeats``) and summed: what the conv kernels themselves cost at the model's layer shapes, without the
    ReLUs, pooling, concatenations and autograd around them."""
    inputs: dict[str, tuple[nn.Conv2d, torch.Size]] = {}
    handles = [m.register_forward_hook(lambda m, i, o, name=name: inputs.__setitem__(name, (m, i[0].shape)))
               for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            model(torch.randn(1, 3, 224, 224, device=device))
    finally:
        for h in handles:
            h.remove()
    total = 0.0
    for conv, shape in inputs.values():
        conv = copy.deepcopy(conv).to(memory_format=torch.channels_last).requires_grad_(False)
        leaf = torch.randn(shape, device=device).contiguous(memory_format=torch.channels_last).requires_grad_(True)
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = conv(leaf)
            torch.autograd.grad(out, leaf, torch.ones_like(out))
            best = min(best, time.perf_counter() - t0)
        total += best
    return total


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB: VmHWM of /proc/self/status on Linux (getrusage's
    ru_maxrss would also count the parent's peak before fork+exec), ru_maxrss elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
