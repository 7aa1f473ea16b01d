"""Section 2: adversarial examples: the TP's naive fooling images, FGSM and PGD, batched, with honest metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate
from ..course import TP
from ..errors import InputError
from ..imagenet.images import pixel_bounds, pixel_scale, quantize
from . import layout
from .attack_loop import Goal, Trajectory, run_attack
from .gradients import cross_entropy, finite_result, forward, log_probability, score, unit_step
from .inputs import Labels, broadcast_labels, check_device, check_images
from .measure import pixel_distances
from .progress import Progress, check_progress, reporting
from .scope import frozen_eval


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


def fooling_image(model: nn.Module, x: torch.Tensor, target: Labels, *, lr: float = TP.fool_lr,
                  max_iter: int = TP.fool_max_iter, until_saved: bool = False, progress: Progress = False) -> AttackResult:
    """The TP's fooling images: gradient ascent on the target's score until the model predicts it.

    Each step is ``lr * g / ||g||_2`` with g = d score_target / d x (per image), in model-input units; the
    image is kept within the valid pixel range. Each image stops as soon as it is classified as its target
    (finished images drop out of the batch); after ``max_iter`` steps the rest are reported as failures,
    which happens: the naive ascent can oscillate around the decision boundary. Nothing here minimises
    the size of the change: it stops at the first step that fools the model.

    Args:
        model: a classifier returning scores (N, K); left exactly as it was found.
        x: model inputs (N, 3, H, W), or one image (1, 3, H, W) to push towards N targets.
        target: the class of each image: one int/name for all, or N indices/names.
        lr: step length (L2 norm of each step, in model-input units).
        max_iter: at most this many steps per image.
        until_saved: keep stepping until the image rounded to 8-bit pixels fools the model too.
        progress: True for a progress bar, or a function ``progress(done, total)``.

    Reference: CS231n's exercise; the idea of adversarial examples is Szegedy et al., ICLR 2014 (who found them
    with box-constrained L-BFGS).
    """
    lr = validate.positive(lr, "lr", hint="(the step's length in model-input units; the TP uses 1)")
    max_iter = validate.count(max_iter, "max_iter")
    until_saved = validate.flag(until_saved, "until_saved")
    check_progress(progress)
    x, labels = _with_labels(model, x, target, name="target")
    lo, hi = pixel_bounds(x)

    def step(cur: torch.Tensor, grad: torch.Tensor, _: torch.Tensor) -> torch.Tensor:
        return (cur + lr * unit_step(grad)).clamp(lo, hi)

    goal = Goal(labels, targeted=True)
    with frozen_eval(model), reporting(progress, max_iter, desc="fooling images") as update:
        model = layout.runner(model)  # the layout fastest on its device; the caller's model is not changed
        path = run_attack(model, x, goal, score, step, max_iter=max_iter, until_saved=until_saved, on_step=update)
        return measure_attack(model, x, path, goal, method="naive",
                              params={"lr": lr, "max_iter": max_iter, "until_saved": until_saved})


def fgsm(model: nn.Module, x: torch.Tensor, target: Labels | None = None, *, eps: float,
         label: Labels | None = None, progress: Progress = False) -> AttackResult:
    """Fast gradient sign method: one step of ``eps`` along the sign of the loss gradient.

    Targeted (``target`` given): x - eps·sign(∇ CE(target)), towards the target. Untargeted: x +
    eps·sign(∇ CE(label)), away from ``label`` (default: the model's prediction on x). ``eps`` is in pixel
    units of the 0–1 image (2/255 = two levels of 0–255), converted through the model's input normalisation;
    the result is clamped to the valid pixel range. Shapes as in ``fooling_image``.

    References: Goodfellow et al., "Explaining and Harnessing Adversarial Examples", ICLR 2015 (untargeted);
    the targeted step is Kurakin et al., "Adversarial Machine Learning at Scale", ICLR 2017.
    """
    return _bounded(model, x, target, label, eps=eps, alpha=eps, steps=1, random_start=False, seed=0,
                    until_saved=False, method="fgsm", progress=progress)


def pgd(model: nn.Module, x: torch.Tensor, target: Labels | None = None, *, eps: float,
        alpha: float | None = None, steps: int = 10, random_start: bool = True, seed: int = 0,
        label: Labels | None = None, until_saved: bool = False, progress: Progress = False) -> AttackResult:
    """Projected gradient descent: FGSM steps of ``alpha``, each projected back into the L∞ ball of
    radius ``eps`` around x and into the valid pixel range.

    ``eps`` and ``alpha`` (default 2.5·eps/steps, the step size Madry et al. used in their experiments) are in
    pixel units of the 0–1 image, e.g. 2/255.
    ``random_start`` begins from a uniform point of the ball (drawn with ``seed``; an image that already
    meets the goal is left as it is). Each image stops as soon as it meets the goal (targeted: predicted
    as ``target``; untargeted: not as ``label``, default the model's prediction on x). Shapes as in
    ``fooling_image``.

    Reference: Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018.
    """
    steps = validate.count(steps, "steps")
    return _bounded(model, x, target, label, eps=eps, alpha=alpha, steps=steps, random_start=random_start,
                    seed=seed, until_saved=until_saved, method="pgd", progress=progress)


def _bounded(model: nn.Module, x: torch.Tensor, target: Labels | None, label: Labels | None, *, eps: float,
             alpha: float | None, steps: int, random_start: bool, seed: int, until_saved: bool, method: str,
             progress: Progress) -> AttackResult:
    eps = check_eps(eps, "eps")
    alpha = 2.5 * eps / steps if alpha is None else check_eps(alpha, "alpha")
    random_start, until_saved = validate.flag(random_start, "random_start"), validate.flag(until_saved, "until_saved")
    seed = validate.seed(seed)
    check_progress(progress)
    if target is not None and label is not None:
        raise InputError("give either target= (a targeted attack) or label= (untargeted), not both")
    targeted = target is not None
    x = _checked(model, x)
    labels: torch.Tensor | None = None
    if target is not None or label is not None:
        x, labels = _with_labels(model, x, target if targeted else label, name="target" if targeted else "label")
    lo, hi = pixel_bounds(x)
    scale = pixel_scale(x) / 255  # model-input units per unit of the 0–1 image, as std
    radius, stride = eps / scale, alpha / scale
    with frozen_eval(model), reporting(progress, steps, desc=method) as update:
        model = layout.runner(model)  # the layout fastest on its device; the caller's model is not changed
        start = x.clone()
        if labels is None or random_start:  # one forward of x serves both: the default label, and who is done
            with torch.no_grad():
                predicted = forward(model, x).argmax(dim=1)
            labels = predicted if labels is None else labels
            if random_start:
                gen = torch.Generator(device=x.device).manual_seed(seed)
                noise = (torch.rand(x.shape, generator=gen, device=x.device, dtype=x.dtype) * 2 - 1) * radius
                met = Goal(labels, targeted=targeted).met(predicted)
                start = torch.where(met.view(-1, 1, 1, 1), x, (x + noise).clamp(lo, hi))

        def step(cur: torch.Tensor, grad: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            origin = x[idx]
            moved = (cur + stride * grad.sign()).clamp(origin - radius, origin + radius)
            return moved.clamp(lo, hi)

        goal = Goal(labels, targeted=targeted)
        path = run_attack(model, start, goal, log_probability if targeted else cross_entropy, step, max_iter=steps,
                          until_saved=until_saved, on_step=update)
        return measure_attack(model, x, path, goal, method=method,
                              params={"eps": eps, "alpha": alpha, "steps": steps, "random_start": random_start,
                                      "seed": seed, "until_saved": until_saved})


def measure_attack(model: nn.Module, x: torch.Tensor, path: Trajectory, goal: Goal, *, method: str,
                   params: dict[str, object]) -> AttackResult:
    """What an attack's trajectory achieved on the original images ``x``: success, survival of 8-bit saving,
    the model's prediction, and distances in pixel levels. Inside ``frozen_eval``."""
    probs = F.softmax(finite_result(path.logits, "attack's scores"), dim=1)
    probability, predicted = probs.max(dim=1)
    with torch.no_grad():
        saved_pred = forward(model, quantize(path.images)).argmax(dim=1)
    linf, l2, psnr = pixel_distances(path.images, x)
    return AttackResult(
        images=path.images, method=method, target=goal.labels if goal.targeted else None,
        label=None if goal.targeted else goal.labels, success=goal.met(predicted),
        survives_saving=goal.met(saved_pred), iterations=path.iterations, predicted=predicted,
        probability=probability, linf=linf, l2=l2, psnr=psnr, params=params)


def check_eps(value: object, name: str) -> float:
    """A budget in pixel units of the 0–1 image, in (0, 1)."""
    return validate.number(value, name, low=0, high=1, low_open=True, high_open=True,
                           must=f"in pixel units of the 0–1 image, between 0 and 1 exclusive (e.g. {name}=2/255 "
                                "for two levels of 0–255)")


def _checked(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``x`` checked as model inputs on the model's device, detached."""
    x = check_images(x).detach()
    check_device(model, x)
    return x


def _with_labels(model: nn.Module, x: torch.Tensor, labels: Labels, *, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Checked images and their labels (N,); one image with N labels becomes N copies."""
    x, goal = broadcast_labels(_checked(model, x), labels, name=name)
    return x.contiguous(), goal
