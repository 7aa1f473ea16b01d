"""The class-visualization ascent: its settings (one frozen, validated object) and its loop, shared by
``class_visualization``, ``sweep``, ``axis_sweeps``, the explorer and ``tpviz figures``."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate
from ..course import TP
from ..errors import InputError
from ..imagenet.images import pixel_bounds
from . import heap, layout
from .gradients import finite_result, forward, input_gradient, score, unit_step
from .head import only_classes
from .transforms import gaussian_blur, jitter

OnStep = Callable[[int, torch.Tensor], None]


@dataclass(frozen=True)
class AscentSettings:
    """The knobs of one class-visualization ascent, checked once on creation (an ``InputError`` names the knob).

    Attributes:
        lr: step length per iteration (model-input units); l2_reg: the L2 weight (0: no penalty).
        iterations: the number of steps.
        blur_every: blur every that many iterations (None: never); blur_sigma: the blur in pixels.
        max_jitter: each iteration rolls the image by a random 0..max_jitter pixels right and down.
        seed: the noise start and the jitter sequence; size: the image's side in pixels.
        clamp: keep the image within the pixel range 0-255 (False only to see what the clamp does).
    """

    lr: float = TP.lr
    l2_reg: float = TP.l2_reg
    iterations: int = TP.iterations
    blur_every: int | None = 10
    blur_sigma: float = 0.5
    max_jitter: int = 16
    seed: int = TP.seed
    size: int = 224
    clamp: bool = True

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "lr", check_lr(self.lr))
        put(self, "l2_reg", check_l2_reg(self.l2_reg))
        put(self, "iterations", check_iterations(self.iterations))
        if self.blur_every is not None:
            put(self, "blur_every", validate.count(self.blur_every, "blur_every",
                                                   hint="(blur every that many iterations; None: no blur)"))
        put(self, "blur_sigma", validate.number(self.blur_sigma, "blur_sigma", low=0, high=100,
                                                hint="(pixels; 0: no blur)"))
        put(self, "size", validate.count(self.size, "size", low=8, high=4096))
        put(self, "max_jitter", validate.count(self.max_jitter, "max_jitter", low=0, hint="(pixels; the TP uses 16)"))
        if self.max_jitter >= self.size:
            raise InputError(f"max_jitter={self.max_jitter} is not smaller than the image ({self.size}x{self.size} "
                             f"pixels): use at most {self.size - 1} (the TP uses 16)")
        put(self, "seed", validate.seed(self.seed))
        put(self, "clamp", validate.flag(self.clamp, "clamp"))

    def but(self, **changes: Any) -> AscentSettings:
        """A copy with some knobs changed (checked again)."""
        return replace(self, **changes)

    def knobs(self) -> dict[str, object]:
        """The knobs as a dict, for captions and results' ``params``."""
        return asdict(self)


def check_lr(value: Any) -> float:
    return validate.positive(value, "lr", hint="(the TP uses 5)")


def check_l2_reg(value: Any) -> float:
    return validate.number(value, "l2_reg", low=0, hint="(0 turns the L2 penalty off; the TP uses 1e-3)")


def check_iterations(value: Any) -> int:
    return validate.count(value, "iterations")


def check_snapshots(snapshots: Any, iterations: int) -> list[int]:
    """Iteration counts at which to keep a copy, sorted and distinct, each in [0, iterations]."""
    wanted = f"snapshots must be iteration counts between 0 and iterations={iterations}, e.g. [0, {iterations}]"
    if isinstance(snapshots, (str, bytes)):
        raise InputError(f"{wanted}; got {snapshots!r}")
    try:
        return sorted({validate.count(i, "snapshots", low=0, high=iterations) for i in snapshots})
    except (TypeError, InputError):
        raise InputError(f"{wanted}; got {validate.show(snapshots)}") from None


def ascend(model: nn.Module, start: torch.Tensor, labels: torch.Tensor, settings: AscentSettings, *,
           lr: torch.Tensor, l2_reg: torch.Tensor, snapshots: Sequence[int] = (), stop: torch.Tensor | None = None,
           on_step: OnStep | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Grow N images (N, 3, H, W) for ``settings.iterations`` steps, each with its own ``lr`` and ``l2_reg`` (N,).

    Call inside ``frozen_eval``. ``stop`` (N,) optionally ends each image after its own number of iterations
    (the images still running are computed as one smaller batch). Returns the final images and the copies at
    each count of ``snapshots`` (an image that stopped earlier keeps its last state). ``on_step(t, images)``
    is called after each iteration t = 1..iterations.
    """
    s = settings
    # the layout fastest on the model's device (layout.py), computing only the labels' scores (head.py);
    # the model is not changed
    fast, index = only_classes(layout.runner(model), labels)
    rng = random.Random(s.seed)
    img = start.detach().clone()
    kept: dict[int, torch.Tensor] = {0: img.clone()} if 0 in snapshots else {}
    lo, hi = pixel_bounds(img)
    with heap.kept():  # each step reuses the last step's memory (heap.py)
        for t in range(s.iterations):
            dx, dy = rng.randint(0, s.max_jitter), rng.randint(0, s.max_jitter)
            run = None if stop is None or bool((stop > t).all()) else (stop > t).nonzero()[:, 0]
            cur, y, step_len, l2 = (img, index, lr, l2_reg) if run is None else \
                (img[run], index[run], lr[run], l2_reg[run])
            moved = jitter(cur, dx, dy)
            grad, _ = input_gradient(fast, moved, y)
            grad.addcmul_(moved, l2.view(-1, 1, 1, 1), value=-2)  # + d/dx of -l2·||x||², exact
            new = jitter(moved + unit_step(grad).mul_(step_len.view(-1, 1, 1, 1)), -dx, -dy)
            if s.clamp:
                new = new.clamp_(lo, hi)  # clamp_pixels
            if s.blur_every is not None and t % s.blur_every == 0:
                new = gaussian_blur(new, s.blur_sigma)
            if run is None:
                img = new
            else:
                img[run] = new
            if t + 1 in snapshots:
                kept[t + 1] = img.clone()
            if on_step is not None:
                on_step(t + 1, img)
    finite_result(img, "class visualization")  # NaN stays NaN: one check at the end suffices
    return img, [kept[i] for i in snapshots]


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(target score, target probability, top class, top probability) of N images, each (N,)."""
    with torch.no_grad():
        logits = forward(layout.runner(model, autocast=False), images)
    probs = F.softmax(logits, dim=1)
    prob, pred = probs.max(dim=1)
    return score(logits, labels), score(probs, labels), pred, prob
