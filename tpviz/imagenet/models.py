"""Pretrained ImageNet classifiers by name, in eval mode, frozen, on the chosen device."""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass

import torch
import torchvision
from torch import nn

from ..config import ALLOW_RANDOM_ENV, random_weights_allowed
from ..errors import InputError, WeightsError, WeightsNotFoundError, first_line
from .weights import find_state_dict

RANDOM_SEED = 0


@dataclass(frozen=True)
class ModelInfo:
    """What ``load_model`` built: the torchvision name, the weights kind and where they came from."""

    name: str
    weights: str  # "imagenet" or "random"
    source: str

    @property
    def random(self) -> bool:
        return self.weights == "random"


def model_names() -> list[str]:
    """Names of every torchvision ImageNet classifier ``load_model`` can build."""
    return sorted(torchvision.models.list_models(module=torchvision.models))


def load_model(name: str = "squeezenet1_1", *, weights: str = "imagenet", device: str | torch.device = "auto",
               progress: bool = True) -> nn.Module:
    """A torchvision ImageNet classifier, in eval mode with frozen parameters, on ``device``.

    Args:
        name: any of ``tpviz.model_names()``, e.g. "squeezenet1_1", "squeezenet1_0", "vgg16".
        weights: "imagenet" (local ``$TPVIZ_WEIGHTS_DIR/<name>_imagenet.pth``, then torch's hub cache,
            then torchvision's download) or "random" (meaningless results, said loudly).
        device: "auto" (CUDA, else Apple's MPS, else CPU), "cpu", "cuda", "cuda:1", "mps", ...

    ``tpviz.model_info(model)`` tells which weights were loaded; class names are ``tpviz.class_names()``.
    With ``TPVIZ_ALLOW_RANDOM_WEIGHTS=1`` (CI only) missing ImageNet weights fall back to random ones.
    """
    known = model_names()
    if name not in known:
        near = difflib.get_close_matches(name, known, n=4, cutoff=0.5)
        hint = f" Did you mean {', '.join(near)}?" if near else ""
        raise InputError(f"unknown model {name!r}.{hint} Known models: {', '.join(known)}")
    if weights not in ("imagenet", "random"):
        raise InputError(f"weights must be 'imagenet' or 'random', got {weights!r}")
    dev = resolve_device(device)
    state = None
    if weights == "random":
        info = ModelInfo(name, "random", "asked for weights='random'")
    else:
        try:  # find the weights first: an offline error should not wait for a random initialisation
            state, source = find_state_dict(name, progress=progress)
            info = ModelInfo(name, "imagenet", source)
        except WeightsNotFoundError as err:  # a corrupt or mismatched file is never papered over
            if not random_weights_allowed():
                raise
            info = ModelInfo(name, "random", f"{ALLOW_RANDOM_ENV}=1 and {first_line(err)}")
    model = _build(name)
    if state is not None:
        _load_into(model, state, name, info.source)
    if info.random:
        _shout(info)
    model.eval().requires_grad_(False)
    setattr(model, "tpviz_info", info)  # noqa: B010  (read back by model_info)
    return model.to(dev)


def model_info(model: nn.Module) -> ModelInfo | None:
    """The ``ModelInfo`` of a model made by ``load_model`` (None for any other model)."""
    return getattr(model, "tpviz_info", None)


def describe_model(model: nn.Module) -> str:
    """One line naming the model and its weights, e.g. "vgg16 (RANDOM WEIGHTS: results are meaningless)"."""
    info = model_info(model)
    if info is None:
        return type(model).__name__
    return f"{info.name} (RANDOM WEIGHTS: results are meaningless)" if info.random else f"{info.name} (ImageNet weights)"


def resolve_device(device: str | torch.device) -> torch.device:
    """"auto" -> CUDA when available, else Apple's MPS, else CPU; any other name is checked to exist."""
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise InputError(f"unknown device {device!r} ({err}); use 'auto', 'cpu', 'cuda' or 'mps'") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device {str(device)!r} asked for, but CUDA is not available here "
                             "(torch.cuda.is_available() is False); use device='auto' or 'cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"device {str(device)!r} does not exist: this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise InputError("device 'mps' asked for, but MPS is not available here; use device='auto' or 'cpu'")
    return dev


def _build(name: str) -> nn.Module:
    # Random initialisation from a fixed seed, without touching the caller's global RNG state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_SEED)
        return torchvision.models.get_model(name, weights=None)


def _load_into(model: nn.Module, state: dict[str, torch.Tensor], name: str, source: str) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        detail = str(err).splitlines()
        reason = detail[1].strip() if len(detail) > 1 else detail[0]
        raise WeightsError(f"the weights from {source} do not fit {name!r} ({reason[:300]}). "
                           f"The file holds another architecture's weights: replace it with {name}'s.") from None


def _shout(info: ModelInfo) -> None:
    bar = "!" * 78
    print(f"{bar}\n!! tpviz: {info.name} runs on RANDOM WEIGHTS. Its outputs, saliency maps and images are\n"
          f"!! MEANINGLESS: only the code path is exercised.\n!! Why: {info.source}\n{bar}",
          file=sys.stderr, flush=True)
