"""tpviz: how an ImageNet CNN "sees": saliency maps, adversarial examples, class visualization.

Everything public lives in this one namespace: ``import tpviz; tpviz.saliency_maps(...)``.
Plot helpers import matplotlib on first use only.
"""

from __future__ import annotations

from typing import Any

from ._attacks import AttackResult, fgsm, fooling_image, pgd
from ._classes import class_index, class_name, class_names, class_synonyms
from ._classviz import ClassVisualization, class_visualization, start_image
from ._compare import compare_attacks, format_table, random_targets
from ._config import fast_mode
from ._data import ImageNetVal, load_imagenet_val
from ._errors import DataError, InputError, TpvizError, WeightsError, WeightsNotFoundError
from ._images import IMAGENET_MEAN, IMAGENET_STD, deprocess, load_image, preprocess, quantize, read_image
from ._models import ModelInfo, describe_model, load_model, model_info, model_names, resolve_device
from ._saliency import integrated_gradients, saliency_maps, smoothgrad
from ._scope import frozen_eval
from ._sweeps import Sweep, axis_sweeps, sweep
from ._transforms import clamp_pixels, gaussian_blur, jitter

_LAZY = {"plot_saliency": "_plots", "save_figure": "_plots", "plot_attack": "_attack_plots",
         "plot_perturbation": "_attack_plots", "plot_sweep": "_viz_plots", "plot_class_visualization": "_viz_plots"}

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "AttackResult", "ClassVisualization", "DataError", "ImageNetVal", "InputError", "ModelInfo", "Sweep", "TpvizError",
    "WeightsError", "WeightsNotFoundError", "clamp_pixels", "class_index", "class_name", "class_names", "class_synonyms", "class_visualization", "deprocess", "describe_model",
    "axis_sweeps", "compare_attacks", "fast_mode", "fgsm", "format_table", "fooling_image", "frozen_eval", "gaussian_blur", "integrated_gradients", "jitter", "load_image", "load_imagenet_val", "load_model",
    "model_info", "model_names", "pgd", "preprocess", "quantize", "random_targets", "read_image", "resolve_device", "saliency_maps", "smoothgrad", "start_image", "sweep",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tpviz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
