"""The one autograd primitive every algorithm shares: d score_y / d x, for the input only."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..errors import InputError, first_line
from .inputs import check_label_range
from .layout import like


def forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``model(x)`` -> logits (N, K), turning a shape failure deep inside the model into a clear error."""
    try:
        logits = model(x)
    except torch.OutOfMemoryError:
        raise
    except RuntimeError as err:
        raise InputError(f"the model cannot take input of shape {tuple(x.shape)} ({first_line(err)}). "
                         "ImageNet models expect (N, 3, 224, 224): use tpviz.load_image or tpviz.preprocess") from None
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != x.shape[0]:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise InputError(f"the model must return class scores (N, K) for N images, got {shape}")
    return logits


def input_gradient(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient of sum_i score_{labels[i]}(x_i) w.r.t. ``x`` (N, 3, H, W), and the logits (N, K), detached
    (returned so that a caller who needs the prediction too, as an attack does, needs no second forward).

    Each image's gradient is that of its own score (the model must treat samples independently,
    as any classifier in eval mode does). Call inside ``frozen_eval`` so no weight gradient is computed.
    ``x`` itself is not touched: the graph starts from a detached alias.
    """
    return objective_gradient(model, x, labels, score)


def score(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Each image's unnormalised class score (N,): ``logits[i, labels[i]]``."""
    return logits.gather(1, labels[:, None])[:, 0]


def objective_gradient(model: nn.Module, x: torch.Tensor, labels: torch.Tensor,
                       objective: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient of sum_i objective(logits, labels)[i] w.r.t. ``x`` (N, 3, H, W), and the logits (N, K), detached.

    ``objective(logits (N, K), labels (N,)) -> (N,)`` is one value per image, e.g. ``score``.
    """
    with torch.inference_mode(False), torch.enable_grad():  # also inside a caller's torch.inference_mode()
        leaf = (x.clone() if x.is_inference() else x.detach()).requires_grad_(True)
        labels = labels.clone() if labels.is_inference() else labels  # gather saves them for backward
        logits = forward(model, leaf)
        check_label_range(labels, logits.shape[1])
        (grad,) = torch.autograd.grad(objective(logits, labels).sum(), leaf)
    return like(grad, x), logits.detach()  # in x's layout, whatever layout the model ran in


def log_probability(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Each image's log p(label) (N,): ascending it descends the cross-entropy towards the label."""
    return score(torch.log_softmax(logits, dim=1), labels)


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Each image's cross-entropy of its label (N,): ascending it moves away from the label."""
    return -log_probability(logits, labels)


def unit_step(grad: torch.Tensor) -> torch.Tensor:
    """Each image's gradient (N, C, H, W) divided by its own L2 norm (a zero gradient stays zero), in place."""
    return grad.div_(grad.flatten(1).norm(dim=1).clamp_min_(1e-12).view(-1, 1, 1, 1))


def finite_result(result: torch.Tensor, what: str) -> torch.Tensor:
    """``result`` if it holds no NaN or infinity, else an InputError naming the likely cause (checked once, on
    what an algorithm returns, never inside its loop)."""
    if not bool(torch.isfinite(result).all()):
        raise InputError(f"the {what} came out NaN or infinite: the model's weights or scores hold NaN or infinite "
                         "values (tpviz.load_model refuses such weight files), or a knob is extreme; "
                         "check the model and lower the step size")
    return result
