"""Colab's stack (torch, torchvision, numpy, matplotlib, pillow and ipywidgets 7.7): installing the kit there
replaces none of it, and the explorer works under ipywidgets 7.

One venv stands for it: ipywidgets 7.7 (and what it needs) installed into it, and this project's .venv
behind it on ``sys.path`` (a ``.pth`` file, read after the venv's own site-packages) for torch and the rest,
so nothing large is installed. The ipywidgets 7 wheels come from the package index: without it, skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COLAB_WIDGETS = ["ipywidgets==7.7.*", "widgetsnbextension==3.6.*", "jupyterlab_widgets>=1,<3", "ipython_genutils"]
COLAB_STACK = {"torch", "torchvision", "numpy", "matplotlib", "pillow", "ipywidgets"}


def _python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def venv_over_this_one(env: Path) -> Path:
    """A new venv at ``env`` whose own site-packages come first and this environment's after; its python."""
    venv.EnvBuilder(with_pip=False).create(env)
    py = _python(env)
    site = Path(subprocess.check_output([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())
    (site / "zz_tpviz_base.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return py


def install_colab_widgets(py: Path, wheels: Path) -> None:
    """Install ``COLAB_WIDGETS`` (no dependencies) into ``py``'s venv from the package index; skip without one."""
    got = subprocess.run([py, "-m", "pip", "download", "-q", "--no-deps", "-d", wheels, *COLAB_WIDGETS],
                         capture_output=True, text=True, timeout=300)
    if got.returncode != 0:
        pytest.skip(f"no package index reachable to fetch ipywidgets 7.7 ({got.stderr.strip().splitlines()[-1:]})")
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", *sorted(wheels.glob("*.whl"))],
                   check=True, timeout=300)


@pytest.fixture(scope="module")
def colab_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with ipywidgets 7.7 of its own and everything else from this environment; its python."""
    folder = tmp_path_factory.mktemp("colab")
    py = venv_over_this_one(folder / "venv")
    install_colab_widgets(py, folder / "wheels")
    return py


def test_the_stand_in_has_colab_s_ipywidgets_and_this_environment_s_torch(colab_env: Path):
    where = subprocess.check_output([colab_env, "-c", "import ipywidgets, torch; print(ipywidgets.__version__); "
                                     "print(torch.__file__)"], text=True).split()
    assert where[0].startswith("7.7.") and Path(where[1]).is_relative_to(Path(sys.prefix))


def test_installing_the_kit_on_colab_s_stack_replaces_nothing(colab_env: Path, tmp_path: Path):
    """Resolved against what is installed, with no index at all: a requirement the stack does not meet
    (ipywidgets>=8, jupyterlab, ...) would make pip fail here instead of replacing a package."""
    report = tmp_path / "report.json"
    run = subprocess.run([colab_env, "-m", "pip", "install", "--dry-run", "--no-index", "--no-build-isolation",
                          "--report", report, "-q", ROOT], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PIP_CONFIG_FILE": os.devnull})
    assert run.returncode == 0, f"pip cannot install the kit on Colab's stack without changing it:\n{run.stderr}"
    installs = json.loads(report.read_text())["install"]
    assert [item["metadata"]["name"] for item in installs] == ["tpviz"]
    requires = installs[0]["metadata"]["requires_dist"]
    runtime = {r.split(">")[0].split("=")[0].strip().lower() for r in requires if "extra ==" not in r}
    assert runtime == COLAB_STACK | {"tqdm"}
    assert "ipywidgets>=7.7" in requires


EXPLORER_UNDER_7 = """
import io, sys
import ipywidgets, numpy as np
from PIL import Image
from tests.conftest import TinyConv
from tpviz.widgets import explorer

assert ipywidgets.__version__.startswith("7."), ipywidgets.__version__
GRID = dict(classes=[1, 2], lr=(1, 3), l2_reg=(1e-4, 1e-1), iterations=(2, 4), size=16, max_jitter=2)
for background in (False, True):  # blocking (what tests drive), then the worker thread notebooks use
    ex = explorer(TinyConv(), background=background, **GRID)
    ex.refresh()
    ex.wait(60)
    first = bytes(ex.image.value)
    ex.show(lr=1)  # as moving the slider does; in the background mode it waits for the image
    second = bytes(ex.image.value)
    pixels = [np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in (first, second)]
    print(first[:4] == b"\\x89PNG", second[:4] == b"\\x89PNG", bool((pixels[0] != pixels[1]).any()),
          ex.lr.value == 1 and ex.current.lr == 1, len(ex.errors.outputs))
    ex.close()
"""


def test_the_explorer_under_ipywidgets_7(colab_env: Path):
    """Build, refresh, move a slider and read the image back, as a browser would, with ipywidgets 7.7: blocking
    and in the background mode."""
    run = subprocess.run([colab_env, "-c", EXPLORER_UNDER_7], capture_output=True, text=True, timeout=300, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == ["True", "True", "True", "True", "0"] * 2, run.stdout + run.stderr[-2000:]
