"""binder/: what repo2docker (Binder, a class JupyterHub's image) builds, run here step by step, offline.

postBuild runs in a fresh venv (this environment's packages behind it through a ``.pth`` file, so nothing is
downloaded), from a copy of the sources, with pip given no index and the downloads served from a local
folder (``TPVIZ_MIRROR=file://...``); then binder/start must point the kit at what postBuild stored.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"


def test_binder_files_are_executable_scripts_and_torch_is_the_cpu_build():
    for name in ("postBuild", "start"):
        script = BINDER / name
        assert script.read_text().startswith("#!/bin/bash\n") and os.access(script, os.X_OK), name
    requirements = (BINDER / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    post = (BINDER / "postBuild").read_text()
    assert 'pip install --no-cache-dir ".[lab]"' in post and "tpviz download --models" in post
    assert "squeezenet1_1,vgg16" in post and "-e ." not in post


@pytest.fixture(scope="module")
def val_file() -> Path:
    from tpviz.imagenet.data import val_file_on_disk

    found = val_file_on_disk()
    if found is None:
        pytest.skip("needs imagenet_val_25.npz on this machine (TPVIZ_DATA_DIR or data/): the mirror serves it")
    return found


@pytest.mark.skipif(sys.platform == "win32", reason="postBuild is a bash script, run on Linux by repo2docker")
def test_post_build_then_start_in_a_fresh_venv_offline(tmp_path: Path, val_file: Path):
    env_dir = tmp_path / "image env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.check_output([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())
    (site / "zz_tpviz_base.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    repo = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for part in ("tpviz", "binder"):
        shutil.copytree(ROOT / part, repo / part, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, repo / name)
    mirror = tmp_path / "class mirror"
    mirror.mkdir()
    from tpviz.imagenet.models import _build

    torch.save(_build("squeezenet1_1").state_dict(), mirror / "squeezenet1_1_imagenet.pth")
    shutil.copy2(val_file, mirror / "imagenet_val_25.npz")
    home = tmp_path / "image data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TPVIZ_", "PIP_", "VIRTUAL_ENV"))}
    env.update(PATH=f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}", PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1",
               PIP_NO_BUILD_ISOLATION="0", TPVIZ_MIRROR=mirror.as_uri(), TPVIZ_HOME=str(home),
               TPVIZ_MODELS="squeezenet1_1", PYTHONNOUSERSITE="1")
    built = subprocess.run(["bash", str(repo / "binder" / "postBuild")], cwd=repo, env=env, capture_output=True,
                           text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-4000:]
    assert sorted(p.name for p in home.iterdir()) == ["imagenet_val_25.npz", "squeezenet1_1_imagenet.pth"]
    assert (env_dir / "bin" / "tpviz").exists(), "postBuild did not install the tpviz command into the env"
    del env["TPVIZ_MIRROR"]
    probe = ("import os, tpviz; m = tpviz.load_model('squeezenet1_1', device='cpu'); "
             "print(os.environ['TPVIZ_WEIGHTS_DIR'] == os.environ['TPVIZ_DATA_DIR']); print(tpviz.model_info(m).source); "
             "print(tpviz.load_imagenet_val(count=2).names); print(tpviz.__file__)")
    started = subprocess.run(["bash", str(repo / "binder" / "start"), "python", "-c", probe], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert started.returncode == 0, started.stderr[-3000:]
    same, source, names, where = started.stdout.splitlines()
    assert same == "True" and source == f"TPVIZ_WEIGHTS_DIR ({home / 'squeezenet1_1_imagenet.pth'})"
    assert names == "['hay', 'quail']" and Path(where).is_relative_to(env_dir), "not the kit postBuild installed"
