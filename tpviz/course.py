"""The TP's settings, defined once: the library's defaults, the explorer, ``tpviz figures`` and the notebooks'
parameters cells all come from here (a test ties the notebooks' cells to these values).

``TP`` is the full course (the notebooks' and figures' full mode); ``TP_FAST`` keeps every code path with less
work (CI, ``TPVIZ_FAST=1``, ``tpviz figures --fast``). No torch import.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .config import fast_mode


@dataclass(frozen=True)
class CourseSettings:
    """Every number the TP fixes. Learning rates are in model-input units, budgets in the 0-1 pixel scale."""

    images: int = 5  # Figures 1-2: the first images of CS231n's 25 validation images
    smoothgrad_samples: int = 25  # notebook 01
    ig_steps: int = 32
    occlusion_patch: int = 32
    occlusion_stride: int = 16
    fool_image: int = 2  # Figure 3: Tibetan mastiff -> bulbul
    fool_target: str = "bulbul"
    fool_lr: float = 1.0  # the naive method's step length (L2 norm, model-input units)
    fool_max_iter: int = 100
    compare_fool_max_iter: int = 100  # the second model (VGG16 costs ~15x SqueezeNet per step on a CPU)
    table_images: int = 25
    epsilons: tuple[float, ...] = (1 / 255, 2 / 255, 4 / 255)
    pgd_steps: int = 10
    table_seed: int = 1
    target: str = "snail"  # Figures 4-10
    lr: float = 5.0  # the base setting of class visualization
    l2_reg: float = 1e-3
    iterations: int = 200
    seed: int = 0
    lrs: tuple[float, ...] = (1, 3, 5, 7, 9)  # Figure 5
    iteration_counts: tuple[int, ...] = (100, 200, 300, 400, 500)  # Figure 6
    l2s: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1)  # Figure 7
    compare_iterations: int = 200  # Figures 9-10, second model
    seeds: tuple[int, ...] = (0, 1, 2)  # notebook 03's seed row: chaos vs a knob's effect
    explorer_lrs: tuple[float, ...] = (1, 5, 9)  # the live explorer's grid
    explorer_l2s: tuple[float, ...] = (1e-4, 1e-2, 1)
    explorer_iterations: tuple[int, ...] = (50, 100, 200)


TP = CourseSettings()
TP_FAST = replace(TP, smoothgrad_samples=4, ig_steps=8, occlusion_stride=32, fool_max_iter=20, compare_fool_max_iter=5, table_images=6, pgd_steps=3, iterations=20,
                  lrs=(1, 5, 9), iteration_counts=(10, 20), l2s=(1e-4, 1), compare_iterations=3,
                  explorer_lrs=(1, 9), explorer_l2s=(1e-4, 1), explorer_iterations=(10, 20))


def course_settings(fast: bool | None = None) -> CourseSettings:
    """``TP_FAST`` in fast mode (``fast=None``: as ``TPVIZ_FAST`` says), else ``TP``."""
    return TP_FAST if (fast_mode() if fast is None else fast) else TP
