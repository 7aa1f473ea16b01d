"""Section 2: adversarial examples: the TP's naive fooling images, FGSM and PGD, batched, with honest metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError
from .gradients import forward, objective_gradient, score
from ..imagenet.images import pixel_bounds, pixel_scale, quantize
from .inputs import Labels, broadcast_labels, check_device, check_images, check_positive
from .scope import frozen_eval

Objective = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class AttackResult:
    """What an attack did to each of N images. Distances are in 0–255 pixel levels.

    Attributes:
        images: the adversarial model inputs (N, 3, H, W).
        method: "naive", "fgsm" or "pgd".
        target: the class each image was pushed to (N,), or None for an untargeted attack.
        label: the class each untargeted image was pushed away from (N,), or None when targeted.
        success: (N,) bool: predicted as the target (targeted) / not as the label (untargeted).
        survives_saving: (N,) bool: still a success once rounded to 8-bit pixels (as saved to a PNG).
        iterations: (N,) gradient steps taken (0 when the image already met the goal).
        predicted, probability: (N,) the model's top class on ``images`` and its softmax probability.
        linf, l2, psnr: (N,) size of ``images - x`` in pixel levels: max |.|, Euclidean norm, and PSNR in dB
            (inf for an unchanged image).
        params: the knobs used, for captions.
    """

    images: torch.Tensor
    method: str
    target: torch.Tensor | None
    label: torch.Tensor | None
    success: torch.Tensor
    survives_saving: torch.Tensor
    iterations: torch.Tensor
    predicted: torch.Tensor
    probability: torch.Tensor
    linf: torch.Tensor
    l2: torch.Tensor
    psnr: torch.Tensor
    params: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.images.shape[0]

    def summary(self) -> dict[str, float]:
        """Batch means: success rate, survives-saving rate, iterations, L∞, L2 and PSNR (finite ones)."""
        finite = self.psnr[torch.isfinite(self.psnr)]
        return {
            "success_rate": self.success.float().mean().item(),
            "survives_saving_rate": self.survives_saving.float().mean().item(),
            "mean_iterations": self.iterations.float().mean().item(),
            "mean_linf": self.linf.mean().item(),
            "mean_l2": self.l2.mean().item(),
            "mean_psnr": finite.mean().item() if finite.numel() else float("inf"),
        }


def fooling_image(model: nn.Module, x: torch.Tensor, target: Labels, *, lr: float = 1.0, max_iter: int = 100,
                  until_saved: bool = False) -> AttackResult:
    """The TP's fooling images: gradient ascent on the target's score until the model predicts it.

    Each step is ``lr * g / ||g||_2`` with g = d score_target / d x (per image), in model-input units; the
    image is kept within the valid pixel range. Each image stops as soon as it is classified as its target
    (finished images drop out of the batch); after ``max_iter`` steps the rest are reported as failures,
    which happens: the naive ascent can oscillate around the decision boundary.

    Args:
        model: a classifier returning scores (N, K); left exactly as it was found.
        x: model inputs (N, 3, H, W), or one image (1, 3, H, W) to push towards N targets.
        target: the class of each image: one int/name for all, or N indices/names.
        lr: step length (L2 norm of each step, in model-input units).
        max_iter: at most this many steps per image.
        until_saved: keep stepping until the image rounded to 8-bit pixels fools the model too.

    Reference: Szegedy et al., "Intriguing properties of neural networks", ICLR 2014 (CS231n's variant).
    """
    check_positive(lr, "lr")
    check_positive(max_iter, "max_iter", integer=True)
    x, goal = _prepare(model, x, target, name="target")
    assert goal is not None
    lo, hi = pixel_bounds(x)

    def step(cur: torch.Tensor, grad: torch.Tensor, _: torch.Tensor) -> torch.Tensor:
        norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        return (cur + lr * grad / norm).clamp(lo, hi)

    with frozen_eval(model):
        return _run(model, x, x.clone(), goal, None, score, step, max_iter=max_iter, until_saved=until_saved,
                    method="naive", params={"lr": lr, "max_iter": max_iter, "until_saved": until_saved})


def fgsm(model: nn.Module, x: torch.Tensor, target: Labels | None = None, *, eps: float,
         label: Labels | None = None) -> AttackResult:
    """Fast gradient sign method: one step of ``eps`` along the sign of the loss gradient.

    Targeted (``target`` given): x - eps·sign(∇ CE(target)), towards the target. Untargeted: x +
    eps·sign(∇ CE(label)), away from ``label`` (default: the model's prediction on x). ``eps`` is in pixel
    units of the 0–1 image (2/255 = two levels of 0–255), converted through the model's input normalisation;
    the result is clamped to the valid pixel range. Shapes as in ``fooling_image``.

    Reference: Goodfellow et al., "Explaining and Harnessing Adversarial Examples", ICLR 2015.
    """
    return _bounded(model, x, target, label, eps=eps, alpha=eps, steps=1, random_start=False, seed=0,
                    until_saved=False, method="fgsm")


def pgd(model: nn.Module, x: torch.Tensor, target: Labels | None = None, *, eps: float,
        alpha: float | None = None, steps: int = 10, random_start: bool = True, seed: int = 0,
        label: Labels | None = None, until_saved: bool = False) -> AttackResult:
    """Projected gradient descent: FGSM steps of ``alpha``, each projected back into the L∞ ball of
    radius ``eps`` around x and into the valid pixel range.

    ``eps`` and ``alpha`` (default 2.5·eps/steps) are in pixel units of the 0–1 image, e.g. 2/255.
    ``random_start`` begins from a uniform point of the ball (drawn with ``seed``; an image that already
    meets the goal is left as it is). Each image stops as soon as it meets the goal (targeted: predicted
    as ``target``; untargeted: not as ``label``, default the model's prediction on x). Shapes as in
    ``fooling_image``.

    Reference: Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018.
    """
    check_positive(steps, "steps", integer=True)
    return _bounded(model, x, target, label, eps=eps, alpha=alpha, steps=steps, random_start=random_start,
                    seed=seed, until_saved=until_saved, method="pgd")


def _bounded(model: nn.Module, x: torch.Tensor, target: Labels | None, label: Labels | None, *, eps: float,
             alpha: float | None, steps: int, random_start: bool, seed: int, until_saved: bool, method: str) -> AttackResult:
    _check_eps(eps, "eps")
    alpha = 2.5 * eps / steps if alpha is None else alpha  # Madry et al.'s default
    _check_eps(alpha, "alpha")
    if target is not None and label is not None:
        raise InputError("give either target= (a targeted attack) or label= (untargeted), not both")
    targeted = target is not None
    x, goal = _prepare(model, x, target if targeted else label, name="target" if targeted else "label")
    lo, hi = pixel_bounds(x)
    scale = pixel_scale(x) / 255  # model-input units per unit of the 0–1 image, as std
    radius, stride = eps / scale, alpha / scale
    with frozen_eval(model):
        start = x.clone()
        if goal is None or random_start:  # one forward of x serves both: the default label, and who is done
            with torch.no_grad():
                predicted = forward(model, x).argmax(dim=1)
            goal = predicted if goal is None else goal
            if random_start:
                gen = torch.Generator(device=x.device).manual_seed(seed)
                noise = (torch.rand(x.shape, generator=gen, device=x.device, dtype=x.dtype) * 2 - 1) * radius
                met = _met(predicted, goal, targeted=targeted)
                start = torch.where(met.view(-1, 1, 1, 1), x, (x + noise).clamp(lo, hi))

        def step(cur: torch.Tensor, grad: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            origin = x[idx]
            moved = (cur + stride * grad.sign()).clamp(origin - radius, origin + radius)
            return moved.clamp(lo, hi)

        return _run(model, x, start, goal if targeted else None, None if targeted else goal,
                    _log_probability if targeted else _cross_entropy, step, max_iter=steps, until_saved=until_saved, method=method,
                    params={"eps": eps, "alpha": alpha, "steps": steps, "random_start": random_start,
                            "seed": seed, "until_saved": until_saved})


def _run(model: nn.Module, x: torch.Tensor, start: torch.Tensor, target: torch.Tensor | None,
         label: torch.Tensor | None, objective: Objective, step: Step, *, max_iter: int, until_saved: bool,
         method: str, params: dict[str, object]) -> AttackResult:
    """The loop every attack shares: evaluate the active images, retire those that meet the goal, step the rest.

    Exactly one of ``target`` (targeted) / ``label`` (untargeted) is given. Call inside ``frozen_eval``.
    """
    targeted = target is not None
    goal = target if target is not None else label
    assert goal is not None
    cur = start.detach().clone()
    n = x.shape[0]
    iterations = torch.zeros(n, dtype=torch.long, device=x.device)
    last_logits: torch.Tensor | None = None
    active = torch.arange(n, device=x.device)
    for it in range(max_iter + 1):
        if it < max_iter:
            grad, logits = objective_gradient(model, cur[active], goal[active], objective)
        else:  # the last check needs the prediction only
            with torch.no_grad():
                logits = forward(model, cur[active])
        if last_logits is None:
            last_logits = torch.empty(n, logits.shape[1], dtype=logits.dtype, device=x.device)
        last_logits[active] = logits
        met = _met(logits.argmax(dim=1), goal[active], targeted=targeted)
        if until_saved and bool(met.any()):  # of those that fool the model, keep the ones whose 8-bit copy does too
            done = active[met]
            with torch.no_grad():
                saved = forward(model, quantize(cur[done])).argmax(dim=1)
            met[met.nonzero()[:, 0]] = _met(saved, goal[done], targeted=targeted)
        if it == max_iter:
            break
        keep = ~met
        active, grad = active[keep], grad[keep]
        if active.numel() == 0:
            break
        cur[active] = step(cur[active], grad, active).detach()
        iterations[active] += 1
    assert last_logits is not None
    probs = F.softmax(last_logits, dim=1)
    probability, predicted = probs.max(dim=1)
    with torch.no_grad():
        saved_pred = forward(model, quantize(cur)).argmax(dim=1)
    delta = ((cur - x) * pixel_scale(x)).flatten(1)
    mse = delta.pow(2).mean(dim=1)
    return AttackResult(
        images=cur, method=method, target=target, label=label,
        success=_met(predicted, goal, targeted=targeted), survives_saving=_met(saved_pred, goal, targeted=targeted),
        iterations=iterations, predicted=predicted, probability=probability,
        linf=delta.abs().amax(dim=1), l2=delta.norm(dim=1),
        psnr=torch.where(mse > 0, 10 * torch.log10(255.0**2 / mse.clamp_min(1e-30)), torch.full_like(mse, float("inf"))),
        params=params,
    )


def _met(predicted: torch.Tensor, goal: torch.Tensor, *, targeted: bool) -> torch.Tensor:
    return predicted == goal if targeted else predicted != goal


def _log_probability(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """log p_target: ascending it is descending the cross-entropy towards the target."""
    return score(F.log_softmax(logits, dim=1), labels)


def _cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """CE(label): ascending it moves away from the label."""
    return -score(F.log_softmax(logits, dim=1), labels)


def _prepare(model: nn.Module, x: torch.Tensor, labels: Labels | None, *, name: str
             ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Check x (detached) and its labels; one image with N labels becomes N copies (None: no labels)."""
    x = check_images(x).detach()
    check_device(model, x)
    if labels is None:
        return x, None
    x, goal = broadcast_labels(x, labels, name=name)
    return x.contiguous(), goal


def _check_eps(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise InputError(f"{name} must be in pixel units of the 0–1 image, between 0 and 1 exclusive "
                         f"(e.g. {name}=2/255 for two levels of 0–255), got {value!r}")

