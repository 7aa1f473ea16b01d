"""The loop every attack shares: evaluate the active images, retire those that meet the goal, step the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..imagenet.images import quantize
from . import heap
from .gradients import forward, objective_gradient

Objective = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Goal:
    """What an attack wants of each image: predicted as ``labels`` (targeted) or as anything else (untargeted)."""

    labels: torch.Tensor  # (N,)
    targeted: bool

    def met(self, predicted: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        """(M,) bool: whether the predictions of the images ``index`` (default: all) meet the goal."""
        labels = self.labels if index is None else self.labels[index]
        return predicted == labels if self.targeted else predicted != labels


@dataclass(frozen=True)
class Trajectory:
    """Where an attack ended: the images (N, 3, H, W), the steps each took (N,) and its last logits (N, K)."""

    images: torch.Tensor
    iterations: torch.Tensor
    logits: torch.Tensor


def run_attack(model: nn.Module, start: torch.Tensor, goal: Goal, objective: Objective, step: Step, *,
               max_iter: int, until_saved: bool, on_step: Callable[[int], None]) -> Trajectory:
    """Ascend ``objective(logits, goal.labels)`` with ``step(images, grad, index)`` until each image meets the
    goal (also once rounded to 8-bit pixels when ``until_saved``) or ``max_iter`` steps. Inside ``frozen_eval``.

    Finished images drop out of the batch; ``on_step(it)`` is called after each round of steps.
    """
    cur = start.detach().clone()
    n = cur.shape[0]
    iterations = torch.zeros(n, dtype=torch.long, device=cur.device)
    last_logits: torch.Tensor | None = None
    active = torch.arange(n, device=cur.device)
    with heap.kept():  # each step reuses the last step's memory (heap.py)
        for it in range(max_iter + 1):
            if it < max_iter:
                grad, logits = objective_gradient(model, cur[active], goal.labels[active], objective)
            else:  # the last check needs the prediction only
                with torch.no_grad():
                    logits = forward(model, cur[active])
            if last_logits is None:
                last_logits = torch.empty(n, logits.shape[1], dtype=logits.dtype, device=cur.device)
            last_logits[active] = logits
            met = goal.met(logits.argmax(dim=1), active)
            if until_saved and bool(met.any()):  # of those that fool the model, keep the ones whose 8-bit copy does too
                done = active[met]
                with torch.no_grad():
                    saved = forward(model, quantize(cur[done])).argmax(dim=1)
                met[met.nonzero()[:, 0]] = goal.met(saved, done)
            if it == max_iter:
                break
            keep = ~met
            active, grad = active[keep], grad[keep]
            if active.numel() == 0:
                break
            cur[active] = step(cur[active], grad, active).detach()
            iterations[active] += 1
            on_step(it + 1)
    assert last_logits is not None
    return Trajectory(images=cur, iterations=iterations, logits=last_logits)
