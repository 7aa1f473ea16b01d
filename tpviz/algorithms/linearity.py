"""Goodfellow et al.'s linearity argument, measured: a sign step of eps per pixel against its first-order
prediction eps * ||d score / d pixels||_1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .. import validate
from ..errors import InputError
from ..imagenet.images import pixel_scale
from . import layout
from .gradients import forward, input_gradient, score
from .inputs import Labels, as_labels, check_device, check_images
from .progress import Progress, reporting
from .scope import frozen_eval


@dataclass(frozen=True)
class Linearity:
    """The target score's change along the sign of its gradient, for each budget.

    Attributes:
        eps: (E,) budgets in pixel units of the 0–1 image (2/255 = two levels).
        measured: (N, E) score_t(x + eps·sign(g)) - score_t(x), the step taken in pixel units, not clipped.
        predicted: (N, E) the first-order prediction eps * ||g||_1, g = d score_t / d pixels (0–1 units).
        score: (N,) score_t(x) before the step.
        target: (N,) the class whose score is measured.
    """

    eps: torch.Tensor
    measured: torch.Tensor
    predicted: torch.Tensor
    score: torch.Tensor
    target: torch.Tensor


def linearity(model: nn.Module, x: torch.Tensor, target: Labels, *,
              eps: Sequence[float] = tuple(levels / 255 for levels in (1 / 64, 1 / 16, 1 / 4, 1, 2, 4, 8)),
              progress: Progress = False) -> Linearity:
    """Move every pixel of x (N, 3, H, W) by eps along the sign of the target score's gradient (FGSM's step
    on the score, without clipping to the pixel range, so only the network is measured) and compare the
    score's change with the first-order prediction eps * ||g||_1. A linear model scores exactly on the
    prediction; with ~150,000 inputs even a small eps predicts a large change (the linearity hypothesis).
    ``progress``: True for a progress bar, or a function ``progress(done, total)`` over the budgets.

    Reference: Goodfellow et al., "Explaining and Harnessing Adversarial Examples", ICLR 2015.
    """
    x = check_images(x)
    check_device(model, x)
    labels = as_labels(target, x.shape[0], device=x.device, name="target")
    if isinstance(eps, (int, float)) or not isinstance(eps, Sequence) or len(eps) == 0:
        raise InputError(f"eps must be a non-empty sequence of budgets in pixel units, e.g. (1/255, 4/255); got {eps!r}")
    budgets = [validate.number(e, "eps", low=0, low_open=True, high=1, hint="(pixel units: 2/255 is two levels)")
               for e in eps]
    per_pixel = 255 / pixel_scale(x)  # model-input units per unit of the 0–1 image (1 / std), (1, 3, 1, 1)
    with frozen_eval(model), reporting(progress, len(budgets), desc="linearity") as update:
        model = layout.runner(model)  # the layout fastest on its device; the caller's model is not changed
        grad, logits = input_gradient(model, x, labels)
        before = score(logits, labels)
        direction = grad.sign() * per_pixel
        l1 = (grad * per_pixel).abs().flatten(1).sum(dim=1)  # ||d score / d pixels||_1, (N,)
        measured = []
        with torch.no_grad():
            for i, e in enumerate(budgets):
                measured.append(score(forward(model, x + e * direction), labels) - before)
                update(i + 1)
    eps_t = torch.tensor(budgets, dtype=x.dtype, device=x.device)
    return Linearity(eps=eps_t, measured=torch.stack(measured, dim=1), predicted=l1[:, None] * eps_t[None],
                     score=before, target=labels)
