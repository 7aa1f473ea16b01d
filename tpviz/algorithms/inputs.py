"""Validation of what callers hand to the algorithms: clear errors before any torch internals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from ..imagenet.classes import class_index
from ..imagenet.images import check_images  # noqa: F401  (re-exported: the algorithms' input check)

Labels = int | str | Sequence[int | str] | torch.Tensor | np.ndarray


def check_model(model: object) -> nn.Module:
    """Raise unless ``model`` is a torch model with real weights (not on the ``meta`` device)."""
    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a torch model (nn.Module), e.g. tpviz.load_model('squeezenet1_1'); "
                         f"got {type(model).__name__}")
    if any(p.device.type == "meta" for p in model.parameters()):
        raise InputError("the model is on the 'meta' device: it has shapes but no weights. Load it with "
                         "tpviz.load_model(name), or call model.to_empty(device='cpu') and load a state_dict")
    return model


def model_device(model: nn.Module) -> torch.device | None:
    """The device of the model's first parameter or buffer (None for a model with neither); checks the model."""
    for p in check_model(model).parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return None


def model_dtype(model: nn.Module) -> torch.dtype | None:
    """The dtype of the model's first floating-point parameter (None for a model with none)."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), None)


def check_device(model: nn.Module, x: torch.Tensor, *, name: str = "x") -> None:
    """Raise when ``x`` and ``model`` live on different devices or hold different float types, saying how to
    move or convert ``x``."""
    dev = model_device(model)
    if dev is not None and dev != x.device:
        raise InputError(f"{name} is on {x.device} but the model is on {dev}: "
                         f"move it with {name} = {name}.to('{dev}')")
    dtype = model_dtype(model)
    if dtype is not None and x.is_floating_point() and x.dtype != dtype:
        raise InputError(f"{name} is {str(x.dtype).replace('torch.', '')} but the model's weights are "
                         f"{str(dtype).replace('torch.', '')}: convert it with {name} = {name}.to({dtype})")


def as_labels(y: Labels, n: int, *, device: torch.device, name: str = "y") -> torch.Tensor:
    """Class labels -> LongTensor (n,) on ``device``.

    ``y`` is one class for the whole batch (an int index or a class name) or one per image (a
    sequence, 1-D tensor or array of indices or names, of length n).
    """
    if _is_one(y):
        one = class_index(y) if isinstance(y, str) else _int(y, name)
        values = torch.full((n,), one, dtype=torch.long)
    elif isinstance(y, torch.Tensor):
        if y.is_floating_point() or y.dtype == torch.bool or y.ndim != 1:
            raise InputError(f"{name} must be a LongTensor (N,) of class indices, got dtype {y.dtype} "
                             f"and shape {tuple(y.shape)}")
        values = y.detach().to("cpu", torch.long)
    elif isinstance(y, (Sequence, np.ndarray)):
        arr = np.asarray(y, dtype=object) if not isinstance(y, np.ndarray) else y
        if arr.ndim != 1:
            raise InputError(f"{name} must be one label per image, a flat sequence of length {n}; got shape {arr.shape}")
        values = torch.tensor([class_index(v) if isinstance(v, str) else _int(v, name) for v in arr.tolist()],
                              dtype=torch.long)
    else:
        raise InputError(f"{name} must be an int, a class name, or one label per image; got {type(y).__name__}")
    if values.numel() != n:
        raise InputError(f"{name} has {values.numel()} labels for {n} images: give one label per image, "
                         "or a single int/class name for all of them")
    if bool((values < 0).any()):
        raise InputError(f"{name} has negative class indices {values[values < 0].tolist()}")
    return values.to(device)


def broadcast_labels(x: torch.Tensor, y: Labels, *, name: str = "y") -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 3, H, W) and their labels -> (images, LongTensor (N,) on x's device); one image (1, 3, H, W)
    with N labels becomes N copies of it (a view), e.g. one photo pushed towards N classes."""
    if x.shape[0] == 1 and not _is_one(y):
        try:
            count = len(y)  # type: ignore[arg-type]
        except TypeError:  # not a sequence: as_labels says what is wrong
            count = 1
        x = x.expand(max(count, 1), *x.shape[1:])
    return x, as_labels(y, x.shape[0], device=x.device, name=name)


def _is_one(y: object) -> bool:
    """True for a single label (an int or a class name) rather than one per image."""
    return isinstance(y, (int, str, np.integer)) or (isinstance(y, torch.Tensor) and y.ndim == 0)


def check_label_range(labels: torch.Tensor, num_classes: int, *, name: str = "y") -> None:
    """Raise when a label is not a valid index into the model's ``num_classes`` scores."""
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.numel():
        raise InputError(f"{name} has class indices {bad.tolist()} outside 0–{num_classes - 1} "
                         f"(the model scores {num_classes} classes)")


def _int(v: object, name: str) -> int:
    if isinstance(v, bool) or not (isinstance(v, (int, np.integer)) or
                                   (isinstance(v, torch.Tensor) and not v.is_floating_point())):
        raise InputError(f"{name} holds {v!r}; labels are int class indices or class names")
    if isinstance(v, torch.Tensor) and v.numel() != 1:
        raise InputError(f"{name} holds a tensor of shape {tuple(v.shape)} where one label was expected")
    value = int(v)
    if not -2**63 <= value < 2**63:
        raise InputError(f"{name} holds the class index {value}, far outside any model's classes (ImageNet: 0-999)")
    return value
