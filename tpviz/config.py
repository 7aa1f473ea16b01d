"""Environment knobs, read at call time (never at import) so tests and notebooks can set them."""

from __future__ import annotations

import os
from pathlib import Path

WEIGHTS_DIR_ENV = "TPVIZ_WEIGHTS_DIR"
DATA_DIR_ENV = "TPVIZ_DATA_DIR"
ALLOW_RANDOM_ENV = "TPVIZ_ALLOW_RANDOM_WEIGHTS"
FAST_ENV = "TPVIZ_FAST"
MIRROR_ENV = "TPVIZ_MIRROR"  # a class's own copy of a `tpviz download` folder (http://, https:// or file://)

_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def fast_mode() -> bool:
    """True when ``TPVIZ_FAST`` is set (CI): notebooks shrink their work but keep every code path."""
    return _flag(FAST_ENV)


def random_weights_allowed() -> bool:
    """True when ``TPVIZ_ALLOW_RANDOM_WEIGHTS`` lets missing ImageNet weights fall back to random ones."""
    return _flag(ALLOW_RANDOM_ENV)


def env_dir(name: str) -> Path | None:
    """The folder named by environment variable ``name``, or None when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def repo_data_dir() -> Path:
    """The project's ``data/`` folder in a source checkout; ``~/.cache/tpviz`` for an installed package."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file():
        return root / "data"
    return Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "tpviz"


def mirror_url(filename: str) -> str | None:
    """``$TPVIZ_MIRROR/filename``, tried before the public sources (None when the variable is unset)."""
    base = os.environ.get(MIRROR_ENV, "").strip()
    return f"{base.rstrip('/')}/{filename}" if base else None
