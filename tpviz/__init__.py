"""tpviz: how an ImageNet CNN "sees": saliency maps, adversarial examples, class visualization.

Everything public lives in this one namespace: ``import tpviz; tpviz.saliency_maps(...)``.
Names are imported on first use, so ``import tpviz`` is instant and pulls in neither torch nor matplotlib:
the command line (``tpviz grade``, ``tpviz doctor``) and the grading code run without them.
Public submodules: ``tpviz.widgets`` (the live explorer), ``tpviz.check`` (self-checks for students).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Each private module and the public names it provides.
_MODULES: dict[str, tuple[str, ...]] = {
    "plots.attacks": ("plot_attack", "plot_perturbation"),
    "algorithms.attacks": ("AttackResult", "fgsm", "fooling_image", "pgd"),
    "imagenet.classes": ("class_index", "class_name", "class_names", "class_synonyms"),
    "algorithms.classviz": ("ClassVisualization", "class_visualization", "start_image"),
    "algorithms.compare": ("compare_attacks", "format_table", "random_targets"),
    "config": ("fast_mode",),
    "imagenet.data": ("ImageNetVal", "load_imagenet_val"),
    "errors": ("DataError", "InputError", "TpvizError", "WeightsError", "WeightsNotFoundError"),
    "imagenet.images": ("IMAGENET_MEAN", "IMAGENET_STD", "deprocess", "load_image", "preprocess", "quantize", "read_image"),
    "imagenet.architecture": ("architecture_facts",),
    "imagenet.models": ("ModelInfo", "describe_model", "load_model", "model_info", "model_names", "resolve_device"),
    "plots.figure": ("save_figure",),
    "plots.saliency": ("plot_saliency",),
    "algorithms.saliency": ("ig_completeness", "integrated_gradients", "saliency_maps", "smoothgrad"),
    "algorithms.linearity": ("Linearity", "linearity"),
    "algorithms.occlusion": ("occlusion",),
    "algorithms.scope": ("frozen_eval",),
    "algorithms.sweeps": ("Sweep", "axis_sweeps", "sweep"),
    "algorithms.measure": ("image_distance",),
    "algorithms.transforms": ("clamp_pixels", "gaussian_blur", "jitter"),
    "plots.classviz": ("plot_sweep", "plot_class_visualization"),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}
_SUBMODULES = ("check", "widgets")  # public submodules, also imported on first use: tpviz.check.saliency(...)

__all__ = sorted(_LAZY)

if TYPE_CHECKING:  # for type checkers and IDEs only: at run time, __getattr__ imports on first use
    from .algorithms.attacks import AttackResult, fgsm, fooling_image, pgd  # noqa: F401
    from .algorithms.classviz import ClassVisualization, class_visualization, start_image  # noqa: F401
    from .algorithms.compare import compare_attacks, format_table, random_targets  # noqa: F401
    from .algorithms.linearity import Linearity, linearity  # noqa: F401
    from .algorithms.measure import image_distance  # noqa: F401
    from .algorithms.occlusion import occlusion  # noqa: F401
    from .algorithms.saliency import ig_completeness, integrated_gradients, saliency_maps, smoothgrad  # noqa: F401
    from .algorithms.scope import frozen_eval  # noqa: F401
    from .algorithms.sweeps import Sweep, axis_sweeps, sweep  # noqa: F401
    from .algorithms.transforms import clamp_pixels, gaussian_blur, jitter  # noqa: F401
    from .config import fast_mode  # noqa: F401
    from .errors import DataError, InputError, TpvizError, WeightsError, WeightsNotFoundError  # noqa: F401
    from .imagenet.architecture import architecture_facts  # noqa: F401
    from .imagenet.classes import class_index, class_name, class_names, class_synonyms  # noqa: F401
    from .imagenet.data import ImageNetVal, load_imagenet_val  # noqa: F401
    from .imagenet.images import IMAGENET_MEAN, IMAGENET_STD, deprocess, load_image, preprocess, quantize, read_image  # noqa: F401
    from .imagenet.models import ModelInfo, describe_model, load_model, model_info, model_names, resolve_device  # noqa: F401
    from .plots.attacks import plot_attack, plot_perturbation  # noqa: F401
    from .plots.classviz import plot_class_visualization, plot_sweep  # noqa: F401
    from .plots.figure import save_figure  # noqa: F401
    from .plots.saliency import plot_saliency  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)  # importing sets the attribute for next time
    raise AttributeError(f"module 'tpviz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))
