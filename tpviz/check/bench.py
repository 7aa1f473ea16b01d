"""The self-checks' test bench: a tiny seeded network, four random 8x8 images, labels and reference gradients.

Everything here runs on the CPU in a fraction of a second and leaves the global random state alone.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..algorithms.gradients import cross_entropy, log_probability, objective_gradient, score
from ..algorithms.scope import frozen_eval

_N, SIZE, _CLASSES, _SEED = 4, 8, 6, 0
LR, L2_REG = 0.5, 0.02  # the L2 term 2·l2_reg·img is about as large as the score's gradient on these images


def _tiny_model() -> nn.Module:
    """A small conv net (ReLU, max-pool, Dropout) with fixed random weights, in eval mode; its parameters
    require gradients, so a function that leaves ``.grad`` on them is caught. The global RNG is left alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED)
        model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Dropout(0.5), nn.Linear(4 * (SIZE // 2) ** 2, _CLASSES))
    return model.eval()


def _images(seed: int) -> torch.Tensor:
    """(4, 3, 8, 8) model inputs within ±1.2, far inside the valid pixel range (about -1.8 to 2.2 at least),
    so that a step of length 0.5 never reaches it and clamping makes no difference."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(_N, 3, SIZE, SIZE, generator=gen) * 0.5).clamp(-1.2, 1.2)


def make_bench(seed: int) -> tuple[nn.Module, torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """One check's bench: the tiny model, the images drawn with ``seed``, a class per image (offset by
    ``seed``, so each check differs) and ``_objective_gradients`` for those classes. The model's prediction,
    which the classes avoid and the "predicted" slip uses, is computed once."""
    model, x = _tiny_model(), _images(seed)
    with torch.no_grad():
        predicted = model(x).argmax(dim=1)
    labels = _labels(predicted, start=seed)
    return model, x, labels, _objective_gradients(model, x, labels, predicted)


def _labels(predicted: torch.Tensor, *, start: int) -> torch.Tensor:
    """A distinct class per image, none of them the model's prediction: so using the predicted class, or
    mixing up the images' classes, gives a visibly different answer."""
    for offset in range(start, start + _CLASSES):
        labels = (torch.arange(_N) + offset) % _CLASSES
        if not bool((labels == predicted).any()):
            return labels
    raise AssertionError("no labelling avoids the predictions")  # cannot happen with 4 images and 6 classes


def _objective_gradients(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, predicted: torch.Tensor
                         ) -> dict[str, torch.Tensor]:
    """The input gradient (N, 3, H, W) of the right objective ("score") and of the usual wrong ones;
    ``predicted`` (N,) is the model's class for each image."""
    n = x.shape[0]
    objectives: dict[str, tuple[torch.Tensor, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]] = {
        "score": (labels, score),
        "log_prob": (labels, log_probability),
        "prob": (labels, lambda logits, y: score(F.softmax(logits, dim=1), y)),
        "ce": (labels, cross_entropy),
        "ce_mean": (labels, lambda logits, y: cross_entropy(logits, y) / n),
        "predicted": (predicted, score),
        "block": (labels, lambda logits, y: logits[:, y].sum(dim=1)),
        "all": (labels, lambda logits, y: logits.sum(dim=1)),
    }
    with frozen_eval(model):
        return {k: objective_gradient(model, x, y, f)[0] for k, (y, f) in objectives.items()}
