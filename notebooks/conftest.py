"""Notebook tests (nbval): skip them, with the reason, when real SqueezeNet 1.1 weights are not on this machine.

Every notebook runs SqueezeNet and checks some of its outputs (e.g. its predictions), which random
weights cannot reproduce. The weights count as present when ``$TPVIZ_WEIGHTS_DIR/squeezenet1_1_imagenet.pth``
exists or torchvision's file is in torch's hub cache; nothing is downloaded here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tpviz.imagenet.weights import weights_on_disk

ARCH = "squeezenet1_1"
NOTEBOOKS = Path(__file__).resolve().parent
SKIP_REASON = ("notebook needs real SqueezeNet 1.1 weights: set TPVIZ_WEIGHTS_DIR to a folder with "
               f"{ARCH}_imagenet.pth (or have torchvision's file in the hub cache)")


def _notebook_path(item: pytest.Item) -> Path | None:
    path = Path(str(getattr(item, "path", None) or item.fspath)).resolve()
    if path.suffix != ".ipynb" or NOTEBOOKS not in path.parents:
        return None
    return path


@pytest.hookimpl(tryfirst=True)  # before -m/-k deselection, so `-m "not slow"` drops the notebooks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    notebook_items = [item for item in items if _notebook_path(item) is not None]
    if not notebook_items:
        return
    skip = None if weights_on_disk(ARCH) is not None else pytest.mark.skip(reason=SKIP_REASON)
    for item in notebook_items:
        item.add_marker(pytest.mark.slow)
        if skip is not None:
            item.add_marker(skip)
