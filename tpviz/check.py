"""Student self-checks: compare your own saliency map, fooling step or class-visualization step with tpviz's.

``import tpviz.check``, then, in a notebook::

    tpviz.check.saliency(my_saliency)                  # my_saliency(model, x, y) -> (N, H, W)
    tpviz.check.fooling_step(my_fooling_step)          # my_fooling_step(model, x, target, lr) -> (N, 3, H, W)
    tpviz.check.class_visualization_step(my_step)      # my_step(model, img, target, lr, l2_reg) -> (N, 3, H, W)

Each check runs your function and tpviz's own code on a tiny network built here with a fixed seed and four
random 8x8 images, on the CPU (a fraction of a second, no weights needed). It prints a verdict in plain words
and returns a ``CheckResult``: what differs (shape, sign, a missing absolute value, a forgotten normalisation,
the loss instead of the score, ...) and what your function changed that it should have left alone (x
modified, ``.grad`` left on the model's weights, the training flag). The tiny model is in eval mode, as
``tpviz.load_model`` returns models, but its parameters require gradients, as in a freshly built network.

A wrong or unfinished function never makes a check raise, so a notebook still runs top to bottom; only misuse
(passing something that is not a function) raises ``tpviz.InputError``.
"""

from __future__ import annotations

import inspect
import itertools
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._attacks import _cross_entropy, _log_probability, fooling_image
from ._classviz import class_visualization
from ._errors import InputError, first_line
from ._gradients import objective_gradient, score
from ._saliency import saliency_maps
from ._scope import frozen_eval

__all__ = ["CheckResult", "class_visualization_step", "fooling_step", "saliency"]

_N, _SIZE, _CLASSES, _SEED = 4, 8, 6, 0
_LR, _L2_REG = 0.5, 0.02  # the L2 term 2·l2_reg·img is about as large as the score's gradient on these images
_MAX_SLIPS = 3  # typical mistakes are recognised alone or up to three together


@dataclass(frozen=True)
class CheckResult:
    """What a self-check found.

    Attributes:
        name: the check: "saliency", "fooling_step" or "class_visualization_step".
        passed: your function matches the reference and left the model and x as it found them.
        written: False while your function still raises NotImplementedError.
        messages: what differs, in plain words, one problem each (empty when passed).
    """

    name: str
    passed: bool
    written: bool = True
    messages: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.passed

    @property
    def verdict(self) -> str:
        """The text the check prints."""
        if self.passed:
            return f"{self.name}: PASSED. {_PASSED[self.name]}"
        if not self.written:
            return f"{self.name}: NOT WRITTEN YET. " + " ".join(self.messages)
        count = len(self.messages)
        head = f"{self.name}: NOT RIGHT YET ({count} problem{'s' if count != 1 else ''})"
        return "\n".join([head, *(f"  - {m}" for m in self.messages)])

    def __str__(self) -> str:
        return self.verdict

    def __repr__(self) -> str:
        state = "passed" if self.passed else "not written yet" if not self.written else f"{len(self.messages)} problem(s)"
        return f"CheckResult({self.name!r}: {state})"


_PASSED = {
    "saliency": "Your maps equal tpviz.saliency_maps on 4 random images of a small test network, and your "
                "function left the model and x as it found them.",
    "fooling_step": "Your step equals one step of tpviz.fooling_image on 4 random images of a small test network, "
                    "and your function left the model and x as it found them.",
    "class_visualization_step": "Your step equals one iteration of tpviz.class_visualization (without jitter and "
                                "blur) on 4 random images of a small test network, and your function left the "
                                "model and img as it found them.",
}


# -- the checks ---------------------------------------------------------------------------------------------


def saliency(fn: Callable[..., object], *, quiet: bool = False) -> CheckResult:
    """Check ``fn(model, x, y) -> (N, H, W)``: the saliency map max_c |d s_y / d x_c| of each image.

    ``model`` returns unnormalised class scores (N, K); ``x`` is model inputs (N, 3, H, W); ``y`` a
    LongTensor (N,) of classes, none of them the one the model predicts. ``fn`` must return a float tensor
    (N, H, W) on x's device, and leave ``x`` and the model as it found them (``torch.autograd.grad`` on a copy
    of x, e.g. ``x.detach().clone().requires_grad_(True)``, leaves no ``.grad`` on the weights). Compared with
    ``tpviz.saliency_maps``. Prints the verdict (unless ``quiet``) and returns a ``CheckResult``.
    """
    _require_function(fn, "saliency", "my_saliency")
    model, x = _tiny_model(), _images(1)
    y = _labels(model, x, start=1)
    reference = saliency_maps(model, x, y)
    grads = _objective_gradients(model, x, y)
    args = (model, x.clone(), y.clone())
    return _run("saliency", fn, args, "fn(model, x, y)", quiet=quiet,
                diagnose=lambda out: _saliency_messages(out, reference, grads))


def fooling_step(fn: Callable[..., object], *, quiet: bool = False) -> CheckResult:
    """Check ``fn(model, x, target, lr) -> (N, 3, H, W)``: one step of the TP's fooling ascent,
    ``x + lr * g / ||g||`` with g = d s_target / d x, normalised per image (its L2 norm over all pixels and
    channels).

    ``model`` returns unnormalised class scores (N, K); ``x`` is model inputs (N, 3, H, W); ``target`` a
    LongTensor (N,) of classes the model does not predict yet; ``lr`` a float. You write the gradient of
    the target's score and the normalised step, and return the new image as a new tensor (``x`` left as it
    was, no ``.grad`` left on the model). Clamping to the valid pixel range is optional: tpviz.fooling_image
    clamps with the same bounds as ``tpviz.clamp_pixels``, but the check's images stay far inside them, so it
    makes no difference here. The loop that repeats the step until the model is fooled is not part of it.
    Compared with one step of ``tpviz.fooling_image(model, x, target, lr=lr, max_iter=1)``.
    """
    _require_function(fn, "fooling_step", "my_fooling_step")
    model, x = _tiny_model(), _images(2)
    target = _labels(model, x, start=2)
    result = fooling_image(model, x, target, lr=_LR, max_iter=1)
    assert bool((result.iterations == 1).all()), "every test image takes exactly one step"
    grads = _objective_gradients(model, x, target)
    args = (model, x.clone(), target.clone(), _LR)
    return _run("fooling_step", fn, args, "fn(model, x, target, lr)", quiet=quiet,
                diagnose=lambda out: _step_messages(out, result.images, x, grads, _STEP_WORDS["fooling_step"]))


def class_visualization_step(fn: Callable[..., object], *, quiet: bool = False) -> CheckResult:
    """Check ``fn(model, img, target, lr, l2_reg) -> (N, 3, H, W)``: one step of the class-visualization
    ascent on ``s_target(img) - l2_reg * ||img||²``: with g = d s_target / d img - 2 * l2_reg * img, return
    ``img + lr * g / ||g||``, normalised per image (L2 norm over all pixels and channels).

    ``model`` returns unnormalised class scores (N, K); ``img`` is model inputs (N, 3, H, W); ``target`` a
    LongTensor (N,); ``lr`` and ``l2_reg`` floats. No jitter and no blur: the notebook's loop around the step
    adds those. Clamping to the valid pixel range (``tpviz.clamp_pixels``) is optional: the check's images
    stay far inside it. Return the new image as a new tensor (``img`` left as it was, no ``.grad`` left on
    the model). Compared with ``tpviz.class_visualization(model, target, init=img, lr=lr, l2_reg=l2_reg,
    iterations=1, blur_every=None, max_jitter=0)``.
    """
    _require_function(fn, "class_visualization_step", "my_class_visualization_step")
    model, img = _tiny_model(), _images(3)
    target = _labels(model, img, start=3)
    reference = class_visualization(model, target, init=img, lr=_LR, l2_reg=_L2_REG, iterations=1,
                                    blur_every=None, max_jitter=0, size=_SIZE).images
    grads = _objective_gradients(model, img, target)
    args = (model, img.clone(), target.clone(), _LR, _L2_REG)
    return _run("class_visualization_step", fn, args, "fn(model, img, target, lr, l2_reg)", quiet=quiet, x_name="img",
                diagnose=lambda out: _step_messages(out, reference, img, grads,
                                                    _STEP_WORDS["class_visualization_step"], l2_reg=_L2_REG))


# -- the test bench -----------------------------------------------------------------------------------------


def _tiny_model() -> nn.Module:
    """A small conv net (ReLU, max-pool, Dropout) with fixed random weights, in eval mode; its parameters
    require gradients, so a function that leaves ``.grad`` on them is caught. The global RNG is left alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED)
        model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Dropout(0.5), nn.Linear(4 * (_SIZE // 2) ** 2, _CLASSES))
    return model.eval()


def _images(seed: int) -> torch.Tensor:
    """(4, 3, 8, 8) model inputs within ±1.2, far inside the valid pixel range (about -1.8 to 2.2 at least),
    so that a step of length 0.5 never reaches it and clamping makes no difference."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(_N, 3, _SIZE, _SIZE, generator=gen) * 0.5).clamp(-1.2, 1.2)


def _labels(model: nn.Module, x: torch.Tensor, *, start: int) -> torch.Tensor:
    """A distinct class per image, none of them the model's prediction: so using the predicted class, or
    mixing up the images' classes, gives a visibly different answer."""
    with torch.no_grad():
        predicted = model(x).argmax(dim=1)
    for offset in range(start, start + _CLASSES):
        labels = (torch.arange(_N) + offset) % _CLASSES
        if not bool((labels == predicted).any()):
            return labels
    raise AssertionError("no labelling avoids the predictions")  # cannot happen with 4 images and 6 classes


def _objective_gradients(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """The input gradient (N, 3, H, W) of the right objective ("score") and of the usual wrong ones."""
    with torch.no_grad():
        predicted = model(x).argmax(dim=1)
    n = x.shape[0]
    objectives: dict[str, tuple[torch.Tensor, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]] = {
        "score": (labels, score),
        "log_prob": (labels, _log_probability),
        "prob": (labels, lambda logits, y: score(F.softmax(logits, dim=1), y)),
        "ce": (labels, _cross_entropy),
        "ce_mean": (labels, lambda logits, y: _cross_entropy(logits, y) / n),
        "predicted": (predicted, score),
        "block": (labels, lambda logits, y: logits[:, y].sum(dim=1)),
        "all": (labels, lambda logits, y: logits.sum(dim=1)),
    }
    with frozen_eval(model):
        return {k: objective_gradient(model, x, y, f)[0] for k, (y, f) in objectives.items()}


# -- running the student's function, and what it left behind -------------------------------------------------


def _require_function(fn: object, name: str, example: str) -> None:
    if not callable(fn):
        raise InputError(f"tpviz.check.{name} needs your function itself, e.g. tpviz.check.{name}({example}) "
                         f"(its name, without parentheses: the check calls it); got {type(fn).__name__}")


def _run(name: str, fn: Callable[..., object], args: tuple[object, ...], call: str, *, quiet: bool,
         diagnose: Callable[[object], list[str]], x_name: str = "x") -> CheckResult:
    """Call ``fn(*args)`` (args[0] the model, args[1] the image batch), then diagnose its output and its side
    effects. Never raises for what ``fn`` does."""
    wrong_signature = _signature_problem(fn, args, call)
    if wrong_signature is not None:
        return _finish(CheckResult(name, passed=False, messages=(wrong_signature,)), quiet)
    model, x = args[0], args[1]
    assert isinstance(model, nn.Module) and isinstance(x, torch.Tensor)
    before = _State.of(model, x)
    with torch.enable_grad():
        try:
            out = fn(*args)
        except NotImplementedError as err:
            if not _raised_by(fn, err):  # from torch, say: a real error, not a stub
                return _finish(CheckResult(name, passed=False, messages=(_exception_message(fn, err),)), quiet)
            text = first_line(err) if str(err).strip() else "NotImplementedError"
            message = (f"Your function raised NotImplementedError ({text}): write your code in the cell, in place "
                       "of the `raise NotImplementedError(...)` line, then run the cell again.")
            return _finish(CheckResult(name, passed=False, written=False, messages=(message,)), quiet)
        except Exception as err:  # any bug in the student's code is reported, not raised
            return _finish(CheckResult(name, passed=False, messages=(_exception_message(fn, err),)), quiet)
        finally:
            grad_switched_off = not torch.is_grad_enabled()
    try:
        messages = diagnose(out)
    except Exception as err:  # an output so odd that comparing it fails: say so rather than crash the notebook
        messages = [f"The check could not compare your result ({type(out).__name__}) with the reference: "
                    f"{type(err).__name__}: {first_line(err)}"]
    messages += before.changes(_State.of(model, x), x_name)
    if grad_switched_off:
        messages.append("Your function switched gradients off for everything that runs after it "
                        "(torch.set_grad_enabled(False)): use a `with torch.no_grad():` block, which ends with it.")
    return _finish(CheckResult(name, passed=not messages, messages=tuple(messages)), quiet)


def _finish(result: CheckResult, quiet: bool) -> CheckResult:
    if not quiet:
        print(result.verdict)
    return result


def _signature_problem(fn: Callable[..., object], args: tuple[object, ...], call: str) -> str | None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: just call it
        return None
    try:
        signature.bind(*args)
    except TypeError as err:
        return (f"Your function takes {getattr(fn, '__name__', 'fn')}{signature}, but the check calls it as "
                f"{call} ({err}): give it exactly these parameters, in this order.")
    return None


_HINTS = (
    ("does not require grad",  # backward() of a score that needs no gradient, or autograd.grad w.r.t. such an x
     "x must record gradients: call the model on a copy made with x.detach().clone().requires_grad_(True), "
     "and ask for the gradient of that copy."),
    ("leaf Variable that requires grad is being used in an in-place operation",
     "a tensor that requires grad was updated in place: build the new image as a new tensor (x_new = x + step), "
     "or update it inside `with torch.no_grad():`."),
    ("Can't call numpy() on Tensor that requires grad",
     "call .detach() before .numpy(), or better, keep torch tensors."),
    ("grad can be implicitly created only for scalar outputs",
     "backward() and torch.autograd.grad need one number: sum the selected scores first."),
    ("appears to not have been used in the graph",
     "the gradient was asked for a tensor the model did not see: call the model on the very tensor whose "
     "gradient you ask for."),
    ("Trying to backward through the graph a second time",
     "call backward once per forward pass."),
    ("'NoneType' object has no attribute",
     "something is None: often x.grad, which stays None unless x requires grad and backward() ran on a score "
     "computed from that same x."),
)


def _own_frames(fn: Callable[..., object], err: BaseException) -> list[traceback.FrameSummary]:
    """The traceback's frames in the file (for a notebook: the cell) where ``fn`` was written."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    return [f for f in traceback.extract_tb(err.__traceback__) if f.filename == code.co_filename]


def _raised_by(fn: Callable[..., object], err: BaseException) -> bool:
    """Whether ``err`` comes from a ``raise`` statement in the student's own code (not from torch, say)."""
    frames = traceback.extract_tb(err.__traceback__)
    code = getattr(fn, "__code__", None)
    if code is None or not frames:
        return True
    last = frames[-1]
    return last.filename == code.co_filename and (not last.line or last.line.lstrip().startswith("raise"))


def _exception_message(fn: Callable[..., object], err: Exception) -> str:
    text = first_line(err)
    where = ""
    frames = _own_frames(fn, err)
    if frames:
        last = frames[-1]
        line = f": `{last.line.strip()}`" if last.line else ""
        where = f" (line {last.lineno}, in {last.name}{line})"
    hint = next((h for pattern, h in _HINTS if pattern in str(err)), "fix it and run the cell again.")
    return f"Your function raised {type(err).__name__}: {text}{where}. Hint: {hint}"


@dataclass(frozen=True)
class _State:
    """What a function may change but must leave alone: the model's weights and flags, and the input x."""

    weights: tuple[torch.Tensor, ...]
    requires_grad: tuple[bool, ...]
    has_grad: tuple[bool, ...]
    training: tuple[bool, ...]
    hooks: int
    x: torch.Tensor
    x_requires_grad: bool
    x_has_grad: bool

    @classmethod
    def of(cls, model: nn.Module, x: torch.Tensor) -> _State:
        params = list(model.parameters())
        hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
                    + len(getattr(m, "_backward_pre_hooks", {})) for m in model.modules())
        return cls(weights=tuple(p.detach().clone() for p in params),
                   requires_grad=tuple(p.requires_grad for p in params),
                   has_grad=tuple(p.grad is not None for p in params),
                   training=tuple(m.training for m in model.modules()), hooks=hooks,
                   x=x.detach().clone(), x_requires_grad=x.requires_grad, x_has_grad=x.grad is not None)

    def changes(self, after: _State, x: str) -> list[str]:
        """Plain-words messages for what differs in ``after``; ``x`` is the image's name in the signature."""
        messages = []
        if after.x.shape != self.x.shape or not torch.equal(after.x, self.x):
            messages.append(f"Your function changed {x} in place (its values differ after the call): work on a "
                            f"copy and return a new tensor (e.g. new = {x} + step), instead of {x} += ..., {x}.data "
                            f"or {x}.add_(...).")
        if after.x_requires_grad != self.x_requires_grad or after.x_has_grad != self.x_has_grad:
            messages.append(f"Your function switched on requires_grad on the caller's {x} (or left a .grad on "
                            f"it): take a copy that records gradients instead, {x}.detach().clone()"
                            ".requires_grad_(True), so the caller's tensor is left as it was.")
        if len(after.weights) != len(self.weights) or len(after.training) != len(self.training):
            messages.append("Your function changed the model itself (it added, removed or replaced layers or "
                            "parameters): only the image may change, never the network.")
            return messages
        if any(a and not b for a, b in zip(after.has_grad, self.has_grad)):
            messages.append("Your function left .grad on the model's parameters (.backward() computes the weights' "
                            "gradients too): use torch.autograd.grad(total, x_copy), which computes the gradient "
                            "of x only, or set each parameter's .grad back to None before returning.")
        if after.requires_grad != self.requires_grad:
            messages.append("Your function changed requires_grad of the model's parameters and did not restore "
                            "it: put every parameter's flag back before returning (torch.autograd.grad needs no "
                            "freezing at all).")
        if any(a.shape != b.shape or not torch.equal(a, b) for a, b in zip(after.weights, self.weights)):
            messages.append("Your function changed the model's weights: only the image may change, never the "
                            "network.")
        if after.training != self.training:
            messages.append("Your function changed the model's training mode (model.train() or model.eval()): "
                            "the check passes it in eval mode, as tpviz.load_model returns models; leave the mode "
                            "as you found it (or restore it before returning).")
        if after.hooks != self.hooks:
            messages.append("Your function left hooks registered on the model: remove each one (handle.remove()) "
                            "before returning.")
        return messages


# -- what the output says -------------------------------------------------------------------------------------


def _as_tensor(out: object, like: torch.Tensor, what: str) -> tuple[torch.Tensor | None, list[str]]:
    """The student's output as a detached tensor like ``like`` (dtype, device), with a message for every
    conversion needed; None when it is no tensor at all."""
    messages: list[str] = []
    if out is None:
        return None, ["Your function returned None: did you forget the `return` line?"]
    if isinstance(out, tuple) and hasattr(out, "values") and hasattr(out, "indices"):
        messages.append("Your function returned a (values, indices) pair: tensor.max(dim=1) gives both. "
                        "Return .max(dim=1).values, or use .amax(dim=1), which gives the values only.")
        out = out.values
    elif isinstance(out, (tuple, list)):
        return None, [f"Your function returned a {type(out).__name__} of {len(out)} item(s): return one tensor "
                      f"{what}."]
    if isinstance(out, np.ndarray):
        messages.append("Your function returned a numpy array: return a torch tensor (leave out .numpy()), like "
                        "the x it receives.")
        try:
            out = torch.from_numpy(np.ascontiguousarray(out))
        except TypeError:
            return None, [messages[0]]
    if not isinstance(out, torch.Tensor):
        return None, [*messages, f"Your function returned a {type(out).__name__}, not a torch tensor {what}."]
    if out.requires_grad:
        messages.append("Your result still requires grad (it is part of an autograd graph, which would grow "
                        "with every call in a loop): return a detached tensor (.detach(), or compute it inside "
                        "`with torch.no_grad():`).")
        out = out.detach()
    if not out.is_floating_point():  # integers or booleans: comparing values would say nothing more
        return None, [*messages, f"Your result has dtype {out.dtype}: return a float tensor ({like.dtype}, like x)."]
    if out.dtype != like.dtype:
        messages.append(f"Your result is {out.dtype}, but x is {like.dtype}: keep x's dtype (no .double(), "
                        ".half() or .float64 conversion).")
    if out.device != like.device:
        messages.append(f"Your result is on {out.device}, but x is on {like.device}: return it on x's device "
                        "(no .cpu() or .cuda() inside the function).")
    try:
        return out.to(like.device, like.dtype), messages
    except (RuntimeError, NotImplementedError):  # e.g. a tensor on the meta device, which holds no values
        return None, messages


def _close(a: torch.Tensor, b: torch.Tensor, atol: float) -> bool:
    return a.shape == b.shape and bool(torch.isclose(a, b, rtol=1e-4, atol=atol).all())


def _per_image(v: torch.Tensor) -> torch.Tensor:
    return v.view(-1, 1, 1, 1)


def _scale(a: torch.Tensor, b: torch.Tensor, atol: float) -> torch.Tensor | None:
    """c (N,) such that a[i] ≈ c[i]·b[i] for every image, or None."""
    af, bf = a.flatten(1), b.flatten(1)
    c = (af * bf).sum(dim=1) / (bf * bf).sum(dim=1).clamp_min(1e-30)
    return c if _close(af, c[:, None] * bf, atol) else None


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
    """Which gradient was used: (note, key into _objective_gradients), the right one first. ``of`` names the
    class whose score is wanted ("class y", "the target"), ``labels`` the argument holding it ("y", "target")."""
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


def _saliency_messages(out: object, reference: torch.Tensor, grads: dict[str, torch.Tensor]) -> list[str]:
    tensor, messages = _as_tensor(out, reference, "(N, H, W)")
    if tensor is None:
        return messages
    n, h, w = reference.shape
    atol = 1e-4 * float(reference.abs().max())
    if tuple(tensor.shape) == (n, 1, h, w):
        messages.append("Your result has shape (N, 1, H, W): keepdim=True left a channel axis of size 1; use "
                        ".amax(dim=1) without keepdim (or .squeeze(1)) to return (N, H, W).")
        tensor = tensor[:, 0]
    if tensor.shape != reference.shape and tuple(tensor.shape) != (n, 3, h, w):
        return [*messages, _shape_message(tensor, reference, "one map per image, (N, H, W)")]
    if not bool(torch.isfinite(tensor).all()):
        return [*messages, _nan_message(tensor)]
    if _close(tensor, reference, atol):
        return messages
    for notes, (objective, reduce, sign) in _combos(_objective_notes("Your map is", "class y", "y"), _REDUCTIONS,
                                                    _SALIENCY_SIGNS):
        assert callable(reduce) and isinstance(objective, str) and isinstance(sign, float)
        if _close(tensor, sign * reduce(grads[objective]), atol):
            return [*messages, *notes]
    if tensor.shape != reference.shape:
        return [*messages, _shape_message(tensor, reference, "one map per image, (N, H, W)")]
    if not bool(tensor.any()):
        return [*messages, "Your map is all zeros: the gradient never reached x (was it computed under "
                           "torch.no_grad(), or read from a tensor the model did not see?)."]
    c = _scale(tensor, reference, atol)
    if c is not None:
        return [*messages, "Your maps are the expected ones multiplied by a factor per image ("
                           + ", ".join(f"{v:.3g}" for v in c.tolist()) + "): return the raw magnitudes "
                           "|d s_y / d x|, without rescaling (e.g. by the map's maximum); plots rescale for display."]
    return [*messages, _generic_difference(tensor, reference, "map", "tpviz.saliency_maps",
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


_STEP_WORDS = {
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
    return _per_image(g.flatten(1).norm(dim=1))


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
         lambda g: g / _per_image(g.flatten(1).abs().amax(dim=1))),
        ("You divided by the sum of |g| (the L1 norm): divide by the L2 norm, the square root of the sum of "
         f"squares of each image's gradient, {per_image}.", lambda g: g / _per_image(g.flatten(1).abs().sum(dim=1))),
        ("You divided by the squared norm ||g||²: divide by the norm ||g|| itself, so that the step has length lr.",
         lambda g: g / _norm(g) ** 2),
    ]


def _penalties(x: str) -> list[tuple[str | None, object]]:
    """The L2 penalty's place in the step (class visualization only): (note, key)."""
    grad = f"g - 2 * l2_reg * {x}"
    return [
        (None, "right"),
        (f"The L2 penalty is missing: the objective is s_target({x}) - l2_reg * ||{x}||², so its gradient is "
         f"{grad}.", "none"),
        (f"The penalty's gradient has the wrong sign: the objective subtracts l2_reg * ||{x}||², so its gradient is "
         f"{grad} (the penalty pulls the pixels towards 0).", "plus"),
        (f"The penalty's gradient lacks the factor 2: the gradient of l2_reg * ||{x}||² is 2 * l2_reg * {x}.", "no2"),
        (f"You penalised ||{x}|| instead of ||{x}||²: the gradient of l2_reg * ||{x}||² is 2 * l2_reg * {x}.",
         "not_squared"),
        (f"You applied the penalty after normalising the gradient: normalise the gradient of the whole objective, "
         f"({grad}) / ||{grad}||, then step.", "after"),
        (f"You applied the penalty after normalising the gradient: normalise the gradient of the whole objective, "
         f"({grad}) / ||{grad}||, then step.", "after_lr"),
    ]


def _step_messages(out: object, reference: torch.Tensor, x: torch.Tensor, grads: dict[str, torch.Tensor],
                   words: _Words, *, l2_reg: float | None = None) -> list[str]:
    tensor, messages = _as_tensor(out, reference, "(N, 3, H, W)")
    if tensor is None:
        return messages
    if tensor.shape != reference.shape:
        return [*messages, _shape_message(tensor, reference, f"the new image, shaped like {words.x}, (N, 3, H, W)")]
    if not bool(torch.isfinite(tensor).all()):
        return [*messages, _nan_message(tensor)]
    atol = 1e-4 * _LR
    if _close(tensor, reference, atol):
        return messages
    lr_axis: list[tuple[str | None, object]] = [
        (None, _LR), ("Your step ignores lr (its length is 1): multiply the normalised gradient by lr.", 1.0)]
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
        if _close(tensor, candidate, atol):
            return [*messages, *notes]
    if torch.equal(tensor, x):
        return [*messages, f"Your function returned {words.x} unchanged: the step was never added (was it added to "
                           "a copy, or computed but not returned?)."]
    c = _scale(tensor - x, reference - x, atol)
    if c is not None:
        lengths = ", ".join(f"{v:.3g}" for v in (tensor - x).flatten(1).norm(dim=1).tolist())
        way = "the right way" if bool((c > 0).all()) else "partly the wrong way"
        return [*messages, f"Your step points {way} but has the wrong length: each image's step must have L2 "
                           f"norm lr = {_LR:g} (yours: {lengths})."]
    return [*messages, _generic_difference(tensor, reference, "new image", words.reference,
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


# -- shared wording -------------------------------------------------------------------------------------------


def _shape_message(tensor: torch.Tensor, reference: torch.Tensor, what: str) -> str:
    expected = tuple(reference.shape)
    got = tuple(tensor.shape)
    hint = ""
    if len(got) == len(expected) - 1 and got == expected[1:]:
        hint = " It looks like one image's result: keep the batch axis, one result per image."
    elif len(got) == 4 and got[0] == expected[0] and got[1:] == (expected[2], expected[3], 3):
        hint = " It looks channels-last: the channel axis is dim 1."
    return f"Your result has shape {got}; expected {what} = {expected} for the check's {expected[0]} images.{hint}"


def _nan_message(tensor: torch.Tensor) -> str:
    bad = int((~torch.isfinite(tensor)).sum())
    return (f"Your result contains NaN or infinite values ({bad} of {tensor.numel()}): e.g. 0/0 from dividing by a "
            "norm that is zero, or a value that was never filled in (torch.empty).")


def _generic_difference(tensor: torch.Tensor, reference: torch.Tensor, what: str, name: str, hint: str,
                        moved: float | None = None) -> str:
    diff = (tensor - reference).abs()
    worst = int(diff.flatten(1).amax(dim=1).argmax())
    scale = (f"the reference moves each pixel by at most {moved:.3g}" if moved is not None
             else f"the reference's largest value is {float(reference.abs().max()):.3g}")
    return (f"Your {what} differs from {name}: the largest difference is {float(diff.max()):.3g} (image {worst}), "
            f"while {scale}. It matches none of the typical slips the check knows; go through the steps in the cell "
            f"again ({hint}).")
