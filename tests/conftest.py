"""Shared fixtures: tiny models with hand-computable gradients, and the real SqueezeNet when present."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

import tpviz  # noqa: E402
from tpviz.imagenet.weights import weights_on_disk  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))

# Tests that hold on every device take ``device`` from this list: the CUDA case runs where there is one
# (``bash benchmarks/gpu_check.sh`` on a GPU machine) and is skipped elsewhere, CI included.
NEEDS_CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (none on this machine)")
DEVICES = ["cpu", pytest.param("cuda", marks=NEEDS_CUDA)]


class Linear(nn.Module):
    """scores = W · flatten(x) + b: its input gradient for class y is W[y], everywhere."""

    def __init__(self, classes: int = 10, size: int = 8, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.fc = nn.Linear(3 * size * size, classes)
        with torch.no_grad():
            self.fc.weight.copy_(torch.randn(self.fc.weight.shape, generator=g))
            self.fc.bias.copy_(torch.randn(self.fc.bias.shape, generator=g))
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))

    def w(self, y: int) -> torch.Tensor:
        """W[y] shaped like one image (3, size, size)."""
        return self.fc.weight[y].detach().view(3, self.size, self.size)


class TinyConv(nn.Module):
    """A small nonlinear conv net with Dropout (so eval mode matters)."""

    def __init__(self, classes: int = 7, seed: int = 1) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(6, 8, 3, padding=1), nn.Tanh())
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.features(x).mean(dim=(2, 3))))


@pytest.fixture
def linear() -> Linear:
    return Linear()


@pytest.fixture
def tiny() -> TinyConv:
    return TinyConv()


@pytest.fixture
def images8() -> torch.Tensor:
    return torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(3))


REAL_WEIGHTS_REASON = ("needs real SqueezeNet 1.1 weights: set TPVIZ_WEIGHTS_DIR to a folder holding "
                       "squeezenet1_1_imagenet.pth (CI uses ../shared/weights), or have torchvision's file "
                       "in torch's hub cache")


@pytest.fixture(scope="session")
def squeezenet() -> nn.Module:
    if weights_on_disk("squeezenet1_1") is None:
        pytest.skip(REAL_WEIGHTS_REASON)
    return tpviz.load_model("squeezenet1_1", device="cpu")


def _val(count: int) -> tpviz.ImageNetVal:
    try:
        return tpviz.load_imagenet_val(count=count)
    except tpviz.DataError as err:
        pytest.skip(f"needs imagenet_val_25.npz (set TPVIZ_DATA_DIR): {err}")


@pytest.fixture(scope="session")
def val5() -> tpviz.ImageNetVal:
    return _val(5)


@pytest.fixture(scope="session")
def val25() -> tpviz.ImageNetVal:
    return _val(25)


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No local weights/data folders, no random-weights opt-in, an empty torch hub: as offline as it gets."""
    for var in ("TPVIZ_WEIGHTS_DIR", "TPVIZ_DATA_DIR", "TPVIZ_ALLOW_RANDOM_WEIGHTS", "TPVIZ_MIRROR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return tmp_path
