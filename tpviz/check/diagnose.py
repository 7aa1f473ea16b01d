"""Name the typical slips behind a wrong saliency map or normalised step, by trying their combinations.

Each kind of slip is an axis of options (note, value), the right option's note None: which gradient was used,
how the channels were reduced, how the step was normalised, where the L2 penalty went... A wrong output is
matched against every combination of up to ``_MAX_SLIPS`` slips, fewest first, and the notes of the first
combination that reproduces it are the messages; an output that none reproduces gets a closer look (all zeros,
unchanged, the right direction at the wrong scale) or, last, the largest difference.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .bench import LR
from .compare import as_column, as_tensor, generic_difference, nan_message, nearly_equal, scale_factor, shape_message

_MAX_SLIPS = 3  # typical mistakes are recognised alone or up to three together


def _combos(*axes: Sequence[tuple[str | None, object]]) -> list[tuple[tuple[str, ...], tuple[object, ...]]]:
    """Every choice of one option per axis, each option (note, value) with note None for the right one;
    only those with 1 to _MAX_SLIPS wrong options, fewest first (so the simplest explanation wins)."""
    found = []
    for choice in itertools.product(*axes):
        notes = tuple(note for note, _ in choice if note is not None)
        if 0 < len(notes) <= _MAX_SLIPS:
            found.append((notes, tuple(value for _, value in choice)))
    return sorted(found, key=lambda c: len(c[0]))


def _objective_notes(thing: str, of: str, labels: str) -> list[tuple[str | None, object]]:
    """Which gradient was used: (note, key into _check_bench._objective_gradients), the right one first. ``of``
    names the class whose score is wanted ("class y", "the target"), ``labels`` the argument holding it ("y",
    "target")."""
    raw = "differentiate the unnormalised score (the model's output, before any softmax)"
    pick = f"scores.gather(1, {labels}.view(-1, 1)) or scores[torch.arange(len({labels})), {labels}]"
    return [
        (None, "score"),
        (f"{thing} the gradient of the log-probability (log-softmax) of {of} instead of its raw score: {raw}.",
         "log_prob"),
        (f"{thing} the gradient of the softmax probability of {of} instead of its raw score: {raw}.", "prob"),
        (f"{thing} the gradient of the cross-entropy loss instead of the raw score of {of}: {raw}.", "ce"),
        (f"{thing} the gradient of the batch-mean cross-entropy loss (F.cross_entropy averages over the images, "
         f"dividing each gradient by N) instead of the raw score of {of}: {raw}, summed over the images.", "ce_mean"),
        (f"{thing} the gradient of the class the model predicts, not of {of}: use the {labels} the function receives "
         f"(the check's classes are never the predicted ones).", "predicted"),
        (f"{thing} the gradient of the sum of the scores of all N classes in {labels}, for every image: "
         f"scores[:, {labels}] is an N×N block, not one score per image. Pick each image's own score with {pick}.",
         "block"),
        (f"{thing} the gradient of the sum of all class scores instead of the score of {of}: pick each image's own "
         f"score with {pick}.", "all"),
    ]


# -- saliency -------------------------------------------------------------------------------------------------

_MAX_ABS = "grad.abs().amax(dim=1)"
_REDUCTIONS: list[tuple[str | None, Callable[[torch.Tensor], torch.Tensor]]] = [
    (None, lambda g: g.abs().amax(dim=1)),
    ("The absolute value is missing: take |gradient| before the max over the colour channels (a large negative "
     f"gradient matters as much as a large positive one): {_MAX_ABS}.", lambda g: g.amax(dim=1)),
    ("The absolute value comes too late: take |gradient| first, then the max over the colour channels "
     f"({_MAX_ABS}); the max of the signed gradient misses large negative values.", lambda g: g.amax(dim=1).abs()),
    (f"You summed |gradient| over the colour channels: the saliency map takes the max over them, {_MAX_ABS}.",
     lambda g: g.abs().sum(dim=1)),
    (f"You averaged |gradient| over the colour channels (mean): the saliency map takes the max over them, "
     f"{_MAX_ABS}.", lambda g: g.abs().mean(dim=1)),
    ("You summed the signed gradient over the colour channels and then took its absolute value: take |gradient| "
     f"first, then the max over channels, {_MAX_ABS}.", lambda g: g.sum(dim=1).abs()),
    ("You took the Euclidean norm over the colour channels: the saliency map takes the max of |gradient| over "
     f"them, {_MAX_ABS}.", lambda g: g.norm(dim=1)),
    ("You returned |gradient| for each colour channel, shape (N, 3, H, W): reduce the channels with the max, "
     f"{_MAX_ABS} -> (N, H, W).", lambda g: g.abs()),
    ("You returned the raw gradient, shape (N, 3, H, W): take its absolute value and the max over the colour "
     f"channels, {_MAX_ABS} -> (N, H, W).", lambda g: g),
]
_SALIENCY_SIGNS: list[tuple[str | None, object]] = [
    (None, 1.0),
    ("Your map has the opposite sign (it is minus the expected one): saliency values are magnitudes, >= 0; "
     "remove the minus sign.", -1.0),
]


def saliency_messages(out: object, reference: torch.Tensor, grads: dict[str, torch.Tensor]) -> list[str]:
    tensor, messages = as_tensor(out, reference, "(N, H, W)")
    if tensor is None:
        return messages
    n, h, w = reference.shape
    atol = 1e-4 * float(reference.abs().max())
    if tuple(tensor.shape) == (n, 1, h, w):
        messages.append("Your result has shape (N, 1, H, W): keepdim=True left a channel axis of size 1; use "
                        ".amax(dim=1) without keepdim (or .squeeze(1)) to return (N, H, W).")
        tensor = tensor[:, 0]
    if tensor.shape != reference.shape and tuple(tensor.shape) != (n, 3, h, w):
        return [*messages, shape_message(tensor, reference, "one map per image, (N, H, W)")]
    if not bool(torch.isfinite(tensor).all()):
        return [*messages, nan_message(tensor)]
    if nearly_equal(tensor, reference, atol):
        return messages
    for notes, (objective, reduce, sign) in _combos(_objective_notes("Your map is", "class y", "y"), _REDUCTIONS,
                                                    _SALIENCY_SIGNS):
        assert callable(reduce) and isinstance(objective, str) and isinstance(sign, float)
        if nearly_equal(tensor, sign * reduce(grads[objective]), atol):
            return [*messages, *notes]
    if tensor.shape != reference.shape:
        return [*messages, shape_message(tensor, reference, "one map per image, (N, H, W)")]
    if not bool(tensor.any()):
        return [*messages, "Your map is all zeros: the gradient never reached x (was it computed under "
                           "torch.no_grad(), or read from a tensor the model did not see?)."]
    c = scale_factor(tensor, reference, atol)
    if c is not None:
        return [*messages, "Your maps are the expected ones multiplied by a factor per image ("
                           + ", ".join(f"{v:.3g}" for v in c.tolist()) + "): return the raw magnitudes "
                           "|d s_y / d x|, without rescaling (e.g. by the map's maximum); plots rescale for display."]
    return [*messages, generic_difference(tensor, reference, "map", "tpviz.saliency_maps",
                                           "the gradient of each image's own class score, then its absolute value "
                                           "and the max over the colour channels")]


# -- the normalised steps -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Words:
    x: str  # the image's name in the student's signature
    thing: str  # how the notes start
    sign: str
    form: str
    reference: str


STEP_WORDS = {
    "fooling_step": _Words(
        x="x", thing="Your step follows", reference="one step of tpviz.fooling_image",
        sign="Your step goes down the target's score (x - ...): to raise it, add the step, x + lr * g / ||g||.",
        form="You returned the step itself, not the new image: return x + lr * g / ||g||."),
    "class_visualization_step": _Words(
        x="img", thing="Your step follows", reference="one iteration of tpviz.class_visualization",
        sign="Your step goes down the objective (img - ...): gradient ascent adds the step, img + lr * g / ||g||.",
        form="You returned the step itself, not the new image: return img + lr * g / ||g||."),
}


def _norm(g: torch.Tensor) -> torch.Tensor:
    return as_column(g.flatten(1).norm(dim=1))


def _normalisations() -> list[tuple[str | None, object]]:
    per_image = "g / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)"
    return [
        (None, lambda g: g / _norm(g)),
        ("The normalisation is missing: divide the gradient by its L2 norm, g / ||g||, so that every step has "
         f"length lr whatever the size of the gradient ({per_image}).", lambda g: g),
        ("You divided by the norm of the whole batch's gradient: normalise each image's gradient by its own norm, "
         f"{per_image}.", lambda g: g / g.norm()),
        ("You took the sign of the gradient (that is FGSM's step): this step divides g by its L2 norm, "
         "lr * g / ||g||.", torch.sign),
        ("You divided by the largest |g| (the L-infinity norm): divide by the L2 norm, the square root of the sum "
         f"of squares of each image's gradient, {per_image}.",
         lambda g: g / as_column(g.flatten(1).abs().amax(dim=1))),
        ("You divided by the sum of |g| (the L1 norm): divide by the L2 norm, the square root of the sum of "
         f"squares of each image's gradient, {per_image}.", lambda g: g / as_column(g.flatten(1).abs().sum(dim=1))),
        ("You divided by the squared norm ||g||²: divide by the norm ||g|| itself, so that the step has length lr.",
         lambda g: g / _norm(g) ** 2),
    ]


def _penalties(x: str) -> list[tuple[str | None, object]]:
    """The L2 penalty's place in the step (class visualization only): (note, key)."""
    grad = f"g - 2 * l2_reg * {x}"
    after = (f"You applied the penalty after normalising the gradient: normalise the gradient of the whole objective, "
             f"({grad}) / ||{grad}||, then step.")
    return [
        (None, "right"),
        (f"The L2 penalty is missing: the objective is s_target({x}) - l2_reg * ||{x}||², so its gradient is "
         f"{grad}.", "none"),
        (f"The penalty's gradient has the wrong sign: the objective subtracts l2_reg * ||{x}||², so its gradient is "
         f"{grad} (the penalty pulls the pixels towards 0).", "plus"),
        (f"The penalty's gradient lacks the factor 2: the gradient of l2_reg * ||{x}||² is 2 * l2_reg * {x}.", "no2"),
        (f"You penalised ||{x}|| instead of ||{x}||²: the gradient of l2_reg * ||{x}||² is 2 * l2_reg * {x}.",
         "not_squared"),
        (after, "after"),  # outside the lr factor: lr * g / ||g|| - 2 * l2_reg * x
        (after, "after_lr"),  # inside it: lr * (g / ||g|| - 2 * l2_reg * x)
    ]


def step_messages(out: object, reference: torch.Tensor, x: torch.Tensor, grads: dict[str, torch.Tensor],
                   words: _Words, *, l2_reg: float | None = None) -> list[str]:
    tensor, messages = as_tensor(out, reference, "(N, 3, H, W)")
    if tensor is None:
        return messages
    if tensor.shape != reference.shape:
        return [*messages, shape_message(tensor, reference, f"the new image, shaped like {words.x}, (N, 3, H, W)")]
    if not bool(torch.isfinite(tensor).all()):
        return [*messages, nan_message(tensor)]
    atol = 1e-4 * LR
    if nearly_equal(tensor, reference, atol):
        return messages
    lr_axis: list[tuple[str | None, object]] = [
        (None, LR), ("Your step ignores lr (its length is 1): multiply the normalised gradient by lr.", 1.0)]
    form_axis: list[tuple[str | None, object]] = [
        (None, "image"), (words.form, "step"),
        (f"You clamped the result to [0, 1], but {words.x} holds normalised model inputs (pixel 0 is about -2, "
         "pixel 255 about +2.5): leave the clamp out (the check's images stay far inside the valid range), or clamp "
         "to each channel's valid range with tpviz.clamp_pixels.", "clamp01")]
    sign_axis: list[tuple[str | None, object]] = [(None, 1.0), (words.sign, -1.0)]
    penalty_axis = _penalties(words.x) if l2_reg is not None else [(None, "right")]
    lam = 0.0 if l2_reg is None else l2_reg
    for notes, (objective, penalty, normalise, sign, lr, form) in _combos(
            _objective_notes(words.thing, "the target", "target"), penalty_axis, _normalisations(), sign_axis, lr_axis,
            form_axis):
        assert isinstance(objective, str) and callable(normalise) and isinstance(sign, float)
        assert isinstance(lr, float) and isinstance(penalty, str)
        step = _step(grads[objective], x, lam, penalty, normalise, sign * lr)
        candidate = step if form == "step" else (x + step).clamp(0, 1) if form == "clamp01" else x + step
        if nearly_equal(tensor, candidate, atol):
            return [*messages, *notes]
    if torch.equal(tensor, x):
        return [*messages, f"Your function returned {words.x} unchanged: the step was never added (was it added to "
                           "a copy, or computed but not returned?)."]
    c = scale_factor(tensor - x, reference - x, atol)
    if c is not None:
        lengths = ", ".join(f"{v:.3g}" for v in (tensor - x).flatten(1).norm(dim=1).tolist())
        way = "the right way" if bool((c > 0).all()) else "partly the wrong way"
        return [*messages, f"Your step points {way} but has the wrong length: each image's step must have L2 "
                           f"norm lr = {LR:g} (yours: {lengths})."]
    return [*messages, generic_difference(tensor, reference, "new image", words.reference,
                                           "one step only: no loop, no jitter, no blur",
                                           moved=float((reference - x).abs().max()))]


def _step(g: torch.Tensor, x: torch.Tensor, lam: float, penalty: str,
          normalise: Callable[[torch.Tensor], torch.Tensor], lr: float) -> torch.Tensor:
    """The step a student computed from gradient ``g`` (N, 3, H, W), given how they treated the L2 penalty."""
    if penalty in ("after", "after_lr"):
        direction = normalise(g)
        return lr * direction - 2 * lam * x if penalty == "after" else lr * (direction - 2 * lam * x)
    total = {"right": g - 2 * lam * x, "none": g, "plus": g + 2 * lam * x, "no2": g - lam * x,
             "not_squared": g - lam * x / _norm(x)}[penalty]
    return lr * normalise(total)

