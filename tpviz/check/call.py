"""Run a student's function safely, and say in plain words what it raised or changed that it should not have.

A wrong signature, an exception (with the student's own line and a hint) or an unwritten stub becomes a
message, never an exception; so does any change to what the function must leave alone: the model's weights,
``.grad``, flags and hooks, the input, and the gradient mode.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import InputError, first_line


def require_function(fn: object, name: str, example: str) -> None:
    if not callable(fn):
        raise InputError(f"tpviz.check.{name} needs your function itself, e.g. tpviz.check.{name}({example}) "
                         f"(its name, without parentheses: the check calls it); got {type(fn).__name__}")


def call_student(fn: Callable[..., object], args: tuple[object, ...], call: str, *,
         diagnose: Callable[[object], list[str]], x_name: str = "x") -> tuple[tuple[str, ...], bool]:
    """Call ``fn(*args)`` (args[0] the model, args[1] the image batch), then diagnose its output and its side
    effects: (messages, written), the problems in plain words (none: it passed) and False while ``fn`` is an
    unwritten stub. Never raises for what ``fn`` does."""
    wrong_signature = _signature_problem(fn, args, call)
    if wrong_signature is not None:
        return (wrong_signature,), True
    model, x = args[0], args[1]
    assert isinstance(model, nn.Module) and isinstance(x, torch.Tensor)
    before = _State.of(model, x)
    with torch.enable_grad():
        try:
            out = fn(*args)
        except NotImplementedError as err:
            if not _raised_by(fn, err):  # from torch, say: a real error, not a stub
                return (_exception_message(fn, err),), True
            text = first_line(err) if str(err).strip() else "NotImplementedError"
            message = (f"Your function raised NotImplementedError ({text}): write your code in the cell, in place "
                       "of the `raise NotImplementedError(...)` line, then run the cell again.")
            return (message,), False
        except Exception as err:  # any bug in the student's code is reported, not raised
            return (_exception_message(fn, err),), True
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
    return tuple(messages), True


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
        if not _same(after.x, self.x):
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
        if not all(_same(a, b) for a, b in zip(after.weights, self.weights)):
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


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same shape, dtype, device and values. ``torch.equal`` alone calls a float64 copy equal, and raises for
    tensors on two devices (a model moved with ``model.to(...)``) instead of saying that they differ."""
    return a.shape == b.shape and a.dtype == b.dtype and a.device == b.device and torch.equal(a, b)
