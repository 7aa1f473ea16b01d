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

from collections.abc import Callable
from dataclasses import dataclass

from ..algorithms.attacks import fooling_image
from ..algorithms.classviz import class_visualization
from ..algorithms.saliency import saliency_maps
from .bench import L2_REG, LR, SIZE, make_bench
from .call import call_student, require_function
from .diagnose import STEP_WORDS, saliency_messages, step_messages

__all__ = ["CheckResult", "class_visualization_step", "fooling_step", "saliency"]


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
    require_function(fn, "saliency", "my_saliency")
    model, x, y, grads = make_bench(1)
    reference = saliency_maps(model, x, y)
    args = (model, x.clone(), y.clone())
    return _check("saliency", fn, args, "fn(model, x, y)", quiet=quiet,
                  diagnose=lambda out: saliency_messages(out, reference, grads))


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
    require_function(fn, "fooling_step", "my_fooling_step")
    model, x, target, grads = make_bench(2)
    result = fooling_image(model, x, target, lr=LR, max_iter=1)
    assert bool((result.iterations == 1).all()), "every test image takes exactly one step"
    args = (model, x.clone(), target.clone(), LR)
    return _check("fooling_step", fn, args, "fn(model, x, target, lr)", quiet=quiet,
                  diagnose=lambda out: step_messages(out, result.images, x, grads, STEP_WORDS["fooling_step"]))


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
    require_function(fn, "class_visualization_step", "my_class_visualization_step")
    model, img, target, grads = make_bench(3)
    reference = class_visualization(model, target, init=img, lr=LR, l2_reg=L2_REG, iterations=1,
                                    blur_every=None, max_jitter=0, size=SIZE).images
    args = (model, img.clone(), target.clone(), LR, L2_REG)
    return _check("class_visualization_step", fn, args, "fn(model, img, target, lr, l2_reg)", quiet=quiet,
                  x_name="img", diagnose=lambda out: step_messages(out, reference, img, grads,
                                                                    STEP_WORDS["class_visualization_step"],
                                                                    l2_reg=L2_REG))


def _check(name: str, fn: Callable[..., object], args: tuple[object, ...], call: str, *, quiet: bool,
           diagnose: Callable[[object], list[str]], x_name: str = "x") -> CheckResult:
    """Run ``fn(*args)`` safely (see ``_check_run``), print the verdict unless ``quiet``, return the result."""
    messages, written = call_student(fn, args, call, diagnose=diagnose, x_name=x_name)
    result = CheckResult(name, passed=written and not messages, written=written, messages=messages)
    if not quiet:
        print(result.verdict)
    return result
