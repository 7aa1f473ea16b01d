"""What every picture of the kit shares and needs no matplotlib: model labels and the random-weights warning."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ..imagenet.models import model_info

RANDOM_COLOR = "red"


def model_label(model: nn.Module) -> tuple[str, bool]:
    """A model's name (``load_model``'s, else its class name) and whether it has random weights."""
    info = model_info(model)
    return (type(model).__name__, False) if info is None else (info.name, info.random)


def random_warning(named: Sequence[tuple[str, bool]], what: str) -> str | None:
    """The red title for figures with random-weights models, from ``model_label`` pairs; None when there are none.

    E.g. "RANDOM WEIGHTS (vgg16): these maps are meaningless" for ``what="maps"``.
    """
    names = list(dict.fromkeys(name for name, rnd in named if rnd))
    return f"RANDOM WEIGHTS ({', '.join(names)}): these {what} are meaningless" if names else None
