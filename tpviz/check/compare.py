"""Compare a student's output with the reference, and word the differences that no typical slip explains.

The output is first read as a tensor like the reference, with a message for each conversion it needed (a
(values, indices) pair, a numpy array, a tensor still in a graph, another dtype or device); then tested for
closeness, or for being the reference up to a factor per image.
"""

from __future__ import annotations

import numpy as np
import torch


def as_tensor(out: object, like: torch.Tensor, what: str) -> tuple[torch.Tensor | None, list[str]]:
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


def nearly_equal(a: torch.Tensor, b: torch.Tensor, atol: float) -> bool:
    return a.shape == b.shape and bool(torch.isclose(a, b, rtol=1e-4, atol=atol).all())


def as_column(v: torch.Tensor) -> torch.Tensor:
    return v.view(-1, 1, 1, 1)


def scale_factor(a: torch.Tensor, b: torch.Tensor, atol: float) -> torch.Tensor | None:
    """c (N,) such that a[i] ≈ c[i]·b[i] for every image, or None."""
    af, bf = a.flatten(1), b.flatten(1)
    c = (af * bf).sum(dim=1) / (bf * bf).sum(dim=1).clamp_min(1e-30)
    return c if nearly_equal(af, c[:, None] * bf, atol) else None


# -- shared wording -------------------------------------------------------------------------------------------


def shape_message(tensor: torch.Tensor, reference: torch.Tensor, what: str) -> str:
    expected = tuple(reference.shape)
    got = tuple(tensor.shape)
    hint = ""
    if len(got) == len(expected) - 1 and got == expected[1:]:
        hint = " It looks like one image's result: keep the batch axis, one result per image."
    elif len(got) == 4 and got[0] == expected[0] and got[1:] == (expected[2], expected[3], 3):
        hint = " It looks channels-last: the channel axis is dim 1."
    return f"Your result has shape {got}; expected {what} = {expected} for the check's {expected[0]} images.{hint}"


def nan_message(tensor: torch.Tensor) -> str:
    bad = int((~torch.isfinite(tensor)).sum())
    return (f"Your result contains NaN or infinite values ({bad} of {tensor.numel()}): e.g. 0/0 from dividing by a "
            "norm that is zero, or a value that was never filled in (torch.empty).")


def generic_difference(tensor: torch.Tensor, reference: torch.Tensor, what: str, name: str, hint: str,
                        moved: float | None = None) -> str:
    diff = (tensor - reference).abs()
    worst = int(diff.flatten(1).amax(dim=1).argmax())
    scale = (f"the reference moves each pixel by at most {moved:.3g}" if moved is not None
             else f"the reference's largest value is {float(reference.abs().max()):.3g}")
    return (f"Your {what} differs from {name}: the largest difference is {float(diff.max()):.3g} (image {worst}), "
            f"while {scale}. It matches none of the typical slips the check knows; go through the steps in the cell "
            f"again ({hint}).")
