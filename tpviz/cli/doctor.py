"""``tpviz doctor``: what a student needs to know when something is off, each problem with its fix."""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HELP = "check this machine: Python, packages, the widget front end, weights, sample images, device"
SETUP_FIX = "run `make lab` in the kit's folder (it sets up .venv), or `pip install -e .` in your environment"
# The distributions the kit imports, by their PyPI names: pyproject's runtime dependencies (a test keeps them
# in step). Not read from the installed metadata, which a stale install leaves out of date: that is what the
# doctor must catch. OPTIONAL: each extra's packages, by the extra that brings them (missing: a warning).
REQUIRED = ("torch", "torchvision", "numpy", "pillow", "matplotlib", "ipywidgets", "tqdm")
OPTIONAL = {"jupyterlab": "lab", "jupyterlab_widgets": "lab", "mistune": "grade"}
OPTIONAL_USE = {"lab": "a JupyterLab of the kit's own (`make lab`)", "grade": "`tpviz grade`"}
MODELS = ("squeezenet1_1", "vgg16")
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"


@dataclass(frozen=True)
class Finding:
    """One line of the report: ``status`` is "ok", "warn" (the kit runs, but read this) or "FAIL" (it cannot)."""

    status: str
    topic: str
    detail: str
    fix: str = ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--offline", action="store_true",
                        help="this machine has no internet: weights or images that would be downloaded count as failures")


def run(args: argparse.Namespace) -> int:
    findings = diagnose(offline=args.offline)
    print(render(findings))
    return exit_code(findings)


def diagnose(*, offline: bool = False) -> list[Finding]:
    """Every check, in the order a student reads them. A check that crashes becomes a FAIL line."""
    checks: list[Callable[[], Iterable[Finding]]] = [
        check_python, check_packages, check_torch, check_widget_frontend,
        *[lambda arch=arch: check_weights(arch, offline=offline) for arch in MODELS],
        lambda: check_sample_images(offline=offline), check_environment, check_device,
    ]
    findings: list[Finding] = []
    for check in checks:
        try:
            findings.extend(check())
        except Exception as err:  # the doctor reports, it never crashes on the machine it examines
            findings.append(Finding("FAIL", getattr(check, "__name__", "check"), f"{type(err).__name__}: {err}",
                                    SETUP_FIX))
    return findings


def render(findings: Iterable[Finding]) -> str:
    """The report: one line a finding, ending with its fix, and a verdict last."""
    findings = list(findings)
    lines = []
    for f in findings:
        fix = f" -> fix: {f.fix}" if f.fix and f.status != "ok" else ""
        lines.append(f"{f.status:>4}  {f.topic}: {f.detail}{fix}")
    failed = sum(f.status == "FAIL" for f in findings)
    warned = sum(f.status == "warn" for f in findings)
    if failed:
        lines.append(f"tpviz doctor: the kit cannot run here: {failed} problem(s) to fix (the FAIL lines above)")
    else:
        lines.append(f"tpviz doctor: the kit can run here ({warned} warning(s))")
    return "\n".join(lines)


def exit_code(findings: Iterable[Finding]) -> int:
    """1 when any finding is a FAIL, else 0."""
    return int(any(f.status == "FAIL" for f in findings))


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> list[Finding]:
    text = ".".join(map(str, version))
    if version < (3, 10):
        return [Finding("FAIL", "python", f"{text} ({sys.executable})",
                        "install Python 3.10 or newer, then run `make lab` again")]
    return [Finding("ok", "python", f"{text} ({sys.executable}, {platform.system()} {platform.machine()})")]


def check_packages(version_of: Callable[[str], str] = metadata.version) -> list[Finding]:
    """The installed version of every distribution the kit needs (read from metadata: nothing is imported)."""
    found, missing = [], []
    for name in REQUIRED:
        try:
            found.append(f"{name} {version_of(name)}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    result = [Finding("ok", "packages", ", ".join(found))] if found else []
    if missing:
        result.append(Finding("FAIL", "packages", f"not installed: {', '.join(missing)}", SETUP_FIX))
    for extra in dict.fromkeys(OPTIONAL.values()):
        absent = [name for name, x in OPTIONAL.items() if x == extra and not _installed(name, version_of)]
        if absent:
            result.append(Finding("warn", f"extra [{extra}]", f"not installed: {', '.join(absent)}; only "
                                  f"{OPTIONAL_USE[extra]} needs it", f'pip install "tpviz[{extra}]" (or -e ".[{extra}]" '
                                  "in the kit's folder)"))
    return result


def _installed(name: str, version_of: Callable[[str], str]) -> bool:
    try:
        version_of(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def check_torch() -> list[Finding]:
    """torch and torchvision import, and torchvision's compiled operators match this torch."""
    try:
        import torch
        import torchvision
    except Exception as err:
        return [Finding("FAIL", "torch", f"cannot import torch/torchvision ({type(err).__name__}: {err})",
                        "reinstall them together: pip install --force-reinstall torch torchvision")]
    try:
        boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
        torchvision.ops.nms(boxes, torch.ones(1), 0.5)
    except Exception as err:  # e.g. "operator torchvision::nms does not exist": built for another torch
        return [Finding("FAIL", "torch", f"torchvision {torchvision.__version__} does not match torch "
                        f"{torch.__version__} ({str(err).splitlines()[0]})",
                        "install a matching pair, e.g. pip install torch==2.14.1 torchvision==0.29.1")]
    return [Finding("ok", "torch", f"torch {torch.__version__} and torchvision {torchvision.__version__} work together")]


def widget_extension_dirs() -> list[Path]:
    """Every folder where JupyterLab looks for prebuilt extensions (``jupyter --paths``, data dirs)."""
    from jupyter_core.paths import jupyter_path

    return [Path(p) for p in jupyter_path("labextensions")]


def check_widget_frontend(dirs: Iterable[Path] | None = None,
                          version_of: Callable[[str], str] = metadata.version) -> list[Finding]:
    """The ipywidgets front end (jupyterlab_widgets) is where JupyterLab finds it, in the version that
    matches ipywidgets (8 needs 3); else the sliders show as "Error displaying widget" or as text."""
    if "google.colab" in sys.modules:
        return [Finding("ok", "widget front end", "Colab's own (the notebooks' first cell enables its custom "
                        "widget manager)")]
    try:
        kernel, front = (int(version_of(name).split(".")[0]) for name in ("ipywidgets", "jupyterlab_widgets"))
    except (metadata.PackageNotFoundError, ValueError):
        kernel = front = 0  # a missing package is reported by check_packages
    if kernel >= 8 and 0 < front < 3 or 0 < kernel < 8 and front >= 3:
        return [Finding("FAIL", "widget front end", f"ipywidgets {version_of('ipywidgets')} and jupyterlab_widgets "
                        f"{version_of('jupyterlab_widgets')} do not match: the sliders would show as 'Error "
                        "displaying widget'", "pip install 'ipywidgets>=8' 'jupyterlab_widgets>=3', then restart "
                        "JupyterLab and reload the page")]
    dirs = widget_extension_dirs() if dirs is None else list(dirs)
    for folder in dirs:
        package = folder / WIDGETS_EXTENSION / "package.json"
        if package.is_file():
            return [Finding("ok", "widget front end", f"{WIDGETS_EXTENSION} in {package.parent.parent.parent}")]
    return [Finding("FAIL", "widget front end",
                    f"{WIDGETS_EXTENSION} is not installed where JupyterLab looks ({', '.join(map(str, dirs))}): "
                    "the explorer's sliders would show as 'Error displaying widget' or as plain text",
                    "pip install 'ipywidgets>=8' jupyterlab_widgets in the environment that runs `jupyter lab`, "
                    "then restart JupyterLab and reload the page")]


def check_weights(arch: str, *, offline: bool = False) -> list[Finding]:
    """Where ``arch``'s ImageNet weights are on disk, or where the first load_model would download them."""
    from ..config import WEIGHTS_DIR_ENV, env_dir
    from ..imagenet.weights import folder_in_the_way, hub_cache_path, weights_on_disk, weights_url

    topic = f"weights {arch}"
    folder = env_dir(WEIGHTS_DIR_ENV)
    if folder is not None and not folder.is_dir():
        return [Finding("FAIL", topic, f"${WEIGHTS_DIR_ENV} is {str(folder)!r}, which is not a folder",
                        f"point {WEIGHTS_DIR_ENV} at the folder holding {arch}_imagenet.pth, or unset it")]
    in_the_way = folder_in_the_way(arch)
    if in_the_way is not None:
        return [Finding("FAIL", topic, f"{str(in_the_way)!r} is a folder, not a file, where {arch}'s weights file "
                        "should be", f"remove or rename the folder {in_the_way} (then put the weights file there, or "
                        f"let the first load_model({arch!r}) download it)")]
    found = weights_on_disk(arch)
    if found is not None:
        return [_loads(arch, *found)]
    url = weights_url(arch)
    size = _download_size_mb(arch)
    where = f"{folder}/{arch}_imagenet.pth" if folder is not None else \
        f"{arch}_imagenet.pth in a folder named by ${WEIGHTS_DIR_ENV}"
    detail = f"not on this machine; the first load_model({arch!r}) downloads {size} from {url} into {hub_cache_path(url)}"
    fix = f"connect to the internet once, or put {where}"
    return [Finding("FAIL" if offline else "warn", topic, detail, fix)]


def _loads(arch: str, path: Path, label: str) -> Finding:
    """The weights file found for ``arch``, loaded as ``load_model`` loads it: the doctor approves only what loads."""
    from ..errors import TpvizError
    from ..imagenet.models import load_model

    try:
        load_model(arch, device="cpu", progress=False)  # takes this very file: weights_on_disk is its first choice
    except TpvizError as err:
        return Finding("FAIL", f"weights {arch}", f"{label}: load_model({arch!r}) refuses it: {err}",
                       f"replace {path} with torchvision's {arch} ImageNet weights (or delete it: the first "
                       f"load_model({arch!r}) then downloads them)")
    return Finding("ok", f"weights {arch}", f"found, and they load: {label}")


def _download_size_mb(arch: str) -> str:
    import torchvision

    size = torchvision.models.get_model_weights(arch).DEFAULT.meta.get("_file_size")
    return f"{size:.0f} MB" if size else "the file"


def check_sample_images(*, offline: bool = False) -> list[Finding]:
    """CS231n's 25 validation images: present and intact (sha256), or where they would be downloaded."""
    from ..errors import DataError
    from ..files.read import read_bytes
    from ..imagenet.data import VAL_SHA256, VAL_URL, repo_data_dir, val_file_candidates, val_file_on_disk

    try:
        path = val_file_on_disk()
    except DataError as err:  # $TPVIZ_DATA_DIR names a file
        return [Finding("FAIL", "sample images", str(err), "point $TPVIZ_DATA_DIR at a folder, or unset it")]
    if path is None:
        looked = ", ".join(map(str, val_file_candidates()))
        return [Finding("FAIL" if offline else "warn", "sample images",
                        f"imagenet_val_25.npz not found (looked in {looked}); the notebooks download it from "
                        f"{VAL_URL} into {repo_data_dir()}",
                        "connect to the internet once, or put imagenet_val_25.npz in a folder named by $TPVIZ_DATA_DIR")]
    try:
        digest = hashlib.sha256(read_bytes(path, "imagenet_val_25.npz", max_bytes=100_000_000)).hexdigest()
    except DataError as err:  # a folder, a broken link, no permission
        return [Finding("FAIL", "sample images", str(err), f"delete {path}; it is downloaded again on first use")]
    if digest != VAL_SHA256:
        return [Finding("FAIL", "sample images", f"{path} is damaged or another file (sha256 {digest[:12]}…)",
                        f"delete {path}; it is downloaded again on first use")]
    return [Finding("ok", "sample images", f"{path}")]


def check_environment() -> list[Finding]:
    """The kit's environment variables that change its behaviour."""
    from ..config import ALLOW_RANDOM_ENV, FAST_ENV, random_weights_allowed

    result = []
    if random_weights_allowed():
        result.append(Finding("warn", ALLOW_RANDOM_ENV, "set: missing ImageNet weights silently become random "
                              "ones (meant for CI), and results are then meaningless",
                              f"unset {ALLOW_RANDOM_ENV} unless this is a CI machine"))
    if os.environ.get(FAST_ENV, "").strip():
        result.append(Finding("warn", FAST_ENV, f"{FAST_ENV}={os.environ[FAST_ENV]}: notebooks shrink their work "
                              "(CI's fast mode); figures will not match the TP's", f"unset {FAST_ENV} for real results"))
    return result


def check_device() -> list[Finding]:
    """The device the notebooks' DEVICE="auto" picks, and the CPU threads torch uses."""
    import torch

    cores = os.cpu_count() or 1
    threads = f"{cores} CPU cores, torch uses {torch.get_num_threads()} threads"
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        return [Finding("ok", "device", f"CUDA: {name} ({torch.cuda.device_count()} GPU(s)); {threads}")]
    if torch.backends.mps.is_available():
        return [Finding("ok", "device", f"MPS (Apple GPU): the notebooks' DEVICE=\"auto\" uses it; {threads}")]
    if torch.backends.mps.is_built() and platform.system() == "Darwin":
        return [Finding("warn", "device", f"CPU only: this torch has MPS, but the Apple GPU is not available "
                        f"(macOS 12.3+ on Apple silicon needed); {threads}",
                        "update macOS, or run on the CPU (slower: TPVIZ_FAST=1 shrinks the notebooks' work)")]
    note = "" if torch.version.cuda is None else f" (this torch is built for CUDA {torch.version.cuda}, but no GPU is visible)"
    return [Finding("ok", "device", f"CPU only{note}; {threads}. The notebooks' full mode takes minutes per notebook; "
                    "TPVIZ_FAST=1 shrinks it")]
