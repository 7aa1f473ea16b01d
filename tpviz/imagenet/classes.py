"""The 1000 ImageNet classes: names, synonyms and a forgiving lookup."""

from __future__ import annotations

import difflib
import numbers
import re
from functools import lru_cache
from importlib import resources

import torch

from ..errors import InputError

NUM_CLASSES = 1000


@lru_cache(maxsize=1)
def class_names() -> list[str]:
    """The 1000 ImageNet class names, in index order (torchvision's weight metadata)."""
    from torchvision.models import SqueezeNet1_1_Weights

    return list(SqueezeNet1_1_Weights.IMAGENET1K_V1.meta["categories"])


@lru_cache(maxsize=1)
def class_synonyms() -> list[list[str]]:
    """For each class index, every name it goes by (torchvision's name first, then WordNet's)."""
    text = resources.files(__package__).joinpath("imagenet_synonyms.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    names = class_names()
    if len(lines) != len(names):
        raise RuntimeError(f"imagenet_synonyms.txt has {len(lines)} lines, expected {len(names)}")
    out = []
    for name, line in zip(names, lines):
        syns = [s.strip() for s in line.split(",") if s.strip()]
        out.append([name] + [s for s in syns if _key(s) != _key(name)])
    return out


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


@lru_cache(maxsize=1)
def _index() -> dict[str, tuple[int, ...]]:
    table: dict[str, list[int]] = {}
    for i, names in enumerate(class_synonyms()):
        for n in names:
            bucket = table.setdefault(_key(n), [])
            if i not in bucket:
                bucket.append(i)
    return {k: tuple(v) for k, v in table.items()}


def class_name(index: int) -> str:
    """The display name of ImageNet class ``index`` (0–999)."""
    return class_names()[class_index(index)]


def class_index(cls: int | str) -> int:
    """The index (0–999) of an ImageNet class given by index or by name.

    Names are case-insensitive and may be any WordNet synonym ("snail", "Tibetan mastiff",
    "grizzly"). A misspelt name raises an error that suggests the nearest names; a name shared
    by two classes ("crane") raises an error that lists both indices.
    """
    if isinstance(cls, bool):
        raise InputError(f"class {cls!r} is a bool; give an index 0–{NUM_CLASSES - 1} or a class name")
    if isinstance(cls, int) or _is_integer(cls):
        i = int(cls)
        if not 0 <= i < NUM_CLASSES:
            raise InputError(f"class index {i} is out of range: ImageNet classes are 0–{NUM_CLASSES - 1}")
        return i
    if not isinstance(cls, str):
        raise InputError(f"a class is an int index or a str name, got {type(cls).__name__}: {cls!r}")
    hits = _index().get(_key(cls))
    if hits is None:
        raise InputError(f"unknown ImageNet class {cls!r}. {_suggest(cls)}")
    if len(hits) > 1:
        options = "; ".join(f"{i} ({', '.join(class_synonyms()[i][:3])})" for i in hits)
        raise InputError(f"class name {cls!r} is ambiguous: it names {options}. Pass the index instead.")
    return hits[0]


def _is_integer(x: object) -> bool:
    if isinstance(x, numbers.Integral):
        return True
    return isinstance(x, torch.Tensor) and x.ndim == 0 and not x.is_floating_point() and x.dtype != torch.bool


def _suggest(name: str) -> str:
    key = _key(name)
    keys = list(_index())
    near = difflib.get_close_matches(key, keys, n=5, cutoff=0.6)
    near += [k for k in keys if key and key in k and k not in near]
    if not near:
        return "tpviz.class_names() lists all 1000 names."
    shown = ", ".join(f"{k!r} ({'/'.join(map(str, _index()[k]))})" for k in near[:5])
    return f"Did you mean {shown}? tpviz.class_names() lists all 1000 names."
