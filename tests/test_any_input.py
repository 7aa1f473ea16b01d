"""Any input, a result or a TpvizError: property-based tests (hypothesis) over every public function that takes
tensors, labels or knobs. Each argument is drawn from valid small values and from what students really pass
(wrong types, shapes, dtypes, units, NaN, infinities, huge numbers, numpy scalars, 0-d tensors, strings); the
function must return or raise a ``tpviz.TpvizError`` subclass, never anything else (KeyboardInterrupt aside).

Bounded: derandomized (the same examples in every run), a few seconds per function on 2 cores. Valid counts are
kept small (a valid ``iterations=10**9`` would run, correctly, for days: that is progress=, not an error).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torchvision
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tpviz

from .conftest import TinyConv

SIZE = 8
BIG = 48  # SqueezeNet's smallest input here: 48 -> 23 -> 11 -> 5 -> 2
CLASSES = 7

PROFILE = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _image(shape=(1, 3, SIZE, SIZE), dtype=torch.float32, fill: float | None = None, scale: float = 1.0):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0)) * scale
    if fill is not None and x.numel():
        x.view(-1)[0] = fill
    return x.to(dtype)


# What a student may pass where a batch of model inputs (N, 3, H, W) is expected.
IMAGES = st.sampled_from([
    _image(), _image((2, 3, SIZE, SIZE)), _image(dtype=torch.float64), _image(dtype=torch.float16),
    _image(dtype=torch.bfloat16), _image(dtype=torch.uint8), _image(dtype=torch.int64), _image((3, SIZE, SIZE)),
    _image((1, 1, SIZE, SIZE)), _image((1, SIZE, SIZE, 3)), _image((0, 3, SIZE, SIZE)), _image((1, 3, 1, 1)),
    _image(fill=float("nan")), _image(fill=float("inf")), _image(fill=-float("inf")), _image(fill=1e30),
    _image(scale=255.0), _image(scale=10.0), torch.tensor(1.0), np.zeros((1, SIZE, SIZE, 3), np.uint8),
    np.zeros((1, 3, SIZE, SIZE), np.float32), [[1.0, 2.0]], None, "image.png", 3,
    _image((1, 3, BIG, BIG)),  # large enough for SqueezeNet, so its one-class path runs too
])

# Where class labels are expected (the tiny model has 7 classes).
LABELS = st.sampled_from([
    0, 3, CLASSES - 1, CLASSES, -1, 2**63, 2**70, -2**70, "snail", "snial", "", [0, 1], [0], [0, 1, 2],
    torch.tensor([1]), torch.tensor(2), torch.tensor([1.5]), torch.tensor([[1]]), np.int64(2), np.array([1]),
    1.5, True, None, {"a": 1}, [None], ["tarantula"], float("nan"),
])

# Where a number (a knob) is expected.
NUMBERS = st.sampled_from([
    None, "5", "", True, False, float("nan"), float("inf"), -float("inf"), 1e300, -1e300, -1.0, -1, 0, 0.0, 1e-300,
    2.5, 1, 2, np.float32(1.0), np.int64(2), np.float64("nan"), torch.tensor(2.0), torch.tensor(1),
    torch.tensor([1.0, 2.0]), torch.tensor(float("inf")), [1, 2], (), {}, 2**70, -2**70, 1 + 2j, object(),
])
SMALL_COUNTS = st.sampled_from([1, 2, 3])  # valid counts a loop may run (kept small)
COUNTS = st.one_of(SMALL_COUNTS, NUMBERS.filter(lambda v: not _large_valid(v)))
EPS = st.one_of(st.sampled_from([1 / 255, 2 / 255, 0.5, 1.0, 8, 0, -0.1, "2/255"]), NUMBERS)
FLAGS = st.sampled_from([True, False, None, "False", 0, 1, np.bool_(True), torch.tensor(True), "yes"])
PROGRESS = st.sampled_from([False, None, lambda done, total: None, 5, "bar", True])
LISTS = st.sampled_from([[1, 2], [1.0], [], [1, 1], [1, "2"], [1, float("nan")], [1, 2.5], 3, "1,2", None,
                         [float("inf")], np.array([1, 2]), torch.tensor([1, 2]), [[1, 2]]])


def _large_valid(v: object) -> bool:
    """A whole number >= 4 that a loop would accept and run for (too long for a test)."""
    try:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and int(v) >= 4 or \
            isinstance(v, torch.Tensor) and v.ndim == 0 and not v.dtype.is_complex and v.item() >= 4
    except (TypeError, ValueError, RuntimeError):
        return False


MODELS = st.sampled_from(["tiny", "tiny", "tiny", None, "squeezenet1_1", "linear-3", "meta", "double",
                          "squeezenet-random"])


@functools.cache
def _squeezenet() -> torch.nn.Module:
    """A random torchvision SqueezeNet 1.1 with CLASSES classes: the algorithms compute only some of its scores
    (head.py). Shared: the algorithms leave models as they found them (test_invariants.py)."""
    torch.manual_seed(0)
    return torchvision.models.squeezenet1_1(num_classes=CLASSES)


def _model(kind: str | None) -> object:
    if kind == "squeezenet-random":
        return _squeezenet()
    if kind == "tiny":
        return TinyConv(classes=CLASSES)
    if kind == "linear-3":
        return torch.nn.Linear(3, 3)  # wrong input/output shapes for images
    if kind == "meta":
        return TinyConv(classes=CLASSES).to("meta")
    if kind == "double":
        return TinyConv(classes=CLASSES).double()
    return kind


def _call(fn: Callable[..., object], *args: object, **kwargs: object) -> None:
    """Call ``fn``; anything but a result or a TpvizError fails the test, with the input that caused it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(*args, **kwargs)
    except tpviz.TpvizError as err:
        assert str(err).strip(), "an error must say what is wrong"
    except Exception as err:  # noqa: BLE001 - the point of the test
        shown = {k: (type(v).__name__, getattr(v, "shape", v)) for k, v in kwargs.items()}
        pytest.fail(f"{fn.__name__}({[type(a).__name__ for a in args]}, {shown}) raised "
                    f"{type(err).__name__}: {err}")


@PROFILE
@given(model=MODELS, x=IMAGES, y=LABELS)
def test_saliency_maps(model, x, y):
    _call(tpviz.saliency_maps, _model(model), x, y)


@PROFILE
@given(model=MODELS, x=IMAGES, y=LABELS, samples=COUNTS, noise=NUMBERS, batch=COUNTS, seed=NUMBERS,
       progress=PROGRESS)
def test_smoothgrad(model, x, y, samples, noise, batch, seed, progress):
    _call(tpviz.smoothgrad, _model(model), x, y, samples=samples, noise=noise, batch_size=batch, seed=seed,
          progress=progress)


@PROFILE
@given(model=MODELS, x=IMAGES, y=LABELS, steps=COUNTS, baseline=st.one_of(st.none(), IMAGES), progress=PROGRESS)
def test_integrated_gradients(model, x, y, steps, baseline, progress):
    _call(tpviz.integrated_gradients, _model(model), x, y, steps=steps, baseline=baseline, progress=progress)


@PROFILE
@given(model=MODELS, x=IMAGES, y=LABELS, patch=COUNTS, stride=COUNTS, value=NUMBERS)
def test_occlusion(model, x, y, patch, stride, value):
    _call(tpviz.occlusion, _model(model), x, y, patch=patch, stride=stride, value=value)


@PROFILE
@given(model=MODELS, x=IMAGES, y=LABELS, lr=NUMBERS, max_iter=COUNTS, until_saved=FLAGS, progress=PROGRESS)
def test_fooling_image(model, x, y, lr, max_iter, until_saved, progress):
    _call(tpviz.fooling_image, _model(model), x, y, lr=lr, max_iter=max_iter, until_saved=until_saved,
          progress=progress)


@PROFILE
@given(model=MODELS, x=IMAGES, y=st.one_of(st.none(), LABELS), eps=EPS, label=st.one_of(st.none(), LABELS))
def test_fgsm(model, x, y, eps, label):
    _call(tpviz.fgsm, _model(model), x, y, eps=eps, label=label)


@PROFILE
@given(model=MODELS, x=IMAGES, y=st.one_of(st.none(), LABELS), eps=EPS, alpha=st.one_of(st.none(), EPS),
       steps=COUNTS, random_start=FLAGS, seed=NUMBERS, until_saved=FLAGS)
def test_pgd(model, x, y, eps, alpha, steps, random_start, seed, until_saved):
    _call(tpviz.pgd, _model(model), x, y, eps=eps, alpha=alpha, steps=steps, random_start=random_start, seed=seed,
          until_saved=until_saved)


@PROFILE
@given(model=MODELS, x=IMAGES, y=LABELS, eps=st.one_of(LISTS, st.just((2 / 255,))), max_iter=COUNTS,
       steps=COUNTS, seed=NUMBERS)
def test_compare_attacks(model, x, y, eps, max_iter, steps, seed):
    _call(tpviz.compare_attacks, _model(model), x, y, eps=eps, max_iter=max_iter, steps=steps, seed=seed)


CLASSVIZ_KNOBS = dict(lr=NUMBERS, l2_reg=NUMBERS, iterations=COUNTS, blur_every=st.one_of(st.none(), COUNTS),
                      blur_sigma=NUMBERS, max_jitter=st.one_of(st.sampled_from([0, 3]), NUMBERS),
                      seed=NUMBERS, clamp=FLAGS)


@PROFILE
@given(model=MODELS, y=LABELS, init=st.one_of(st.none(), IMAGES), size=st.sampled_from([SIZE, SIZE, 8.0, 0, -8, 7.5,
                                                                                     "8", None, 10**9, float("inf"),
                                                                                     BIG]),
       snapshots=st.sampled_from([(), [0, 1], [5], "ab", [1.5], None, 3]), callback=st.sampled_from([None, 5,
                                                                                                  lambda t, x: None]),
       progress=PROGRESS, **CLASSVIZ_KNOBS)
def test_class_visualization(model, y, init, size, snapshots, callback, progress, **knobs):
    _call(tpviz.class_visualization, _model(model), y, init=init, size=size, snapshots=snapshots,
          callback=callback, progress=progress, **knobs)


@PROFILE
@given(model=MODELS, y=LABELS, lr=LISTS, l2_reg=LISTS, iterations=st.one_of(st.sampled_from([[1, 2], 2]), LISTS),
       batch=COUNTS, seed=NUMBERS, max_jitter=st.sampled_from([0, 3, 8, -1, None]))
def test_sweep(model, y, lr, l2_reg, iterations, batch, seed, max_jitter):
    _call(tpviz.sweep, _model(model), y, lr=lr, l2_reg=l2_reg, iterations=iterations, batch_size=batch, seed=seed,
          size=SIZE, max_jitter=max_jitter)


@PROFILE
@given(model=MODELS, y=LABELS, lr=LISTS, l2_reg=LISTS, iterations=st.one_of(st.sampled_from([[1, 2]]), LISTS),
       base_lr=NUMBERS, base_l2_reg=NUMBERS, base_iterations=COUNTS)
def test_axis_sweeps(model, y, lr, l2_reg, iterations, base_lr, base_l2_reg, base_iterations):
    _call(tpviz.axis_sweeps, _model(model), y, lr=lr, l2_reg=l2_reg, iterations=iterations, base_lr=base_lr,
          base_l2_reg=base_l2_reg, base_iterations=base_iterations, size=SIZE, max_jitter=3)


@PROFILE
@given(init=st.one_of(st.none(), IMAGES), seed=NUMBERS, size=st.sampled_from([SIZE, 0, 8.5, "8", None, 10**9]))
def test_start_image(init, seed, size):
    _call(tpviz.start_image, init, seed=seed, size=size)


@PROFILE
@given(x=IMAGES, dx=NUMBERS, dy=NUMBERS, sigma=NUMBERS)
def test_transforms(x, dx, dy, sigma):
    _call(tpviz.jitter, x, dx, dy)
    _call(tpviz.gaussian_blur, x, sigma)
    _call(tpviz.clamp_pixels, x)


@PROFILE
@given(x=IMAGES, device=st.sampled_from([None, "cpu", "tpu", "cuda:99", 3, "meta"]))
def test_preprocess_deprocess_quantize(x, device):
    _call(tpviz.preprocess, x, device=device)
    _call(tpviz.deprocess, x)
    _call(tpviz.quantize, x)


@PROFILE
@given(a=IMAGES, b=IMAGES)
def test_image_distance(a, b):
    _call(tpviz.image_distance, a, b)


@PROFILE
@given(c=LABELS)
def test_class_lookups(c):
    _call(tpviz.class_index, c)
    _call(tpviz.class_name, c)


@PROFILE
@given(labels=st.one_of(LISTS, LABELS), seed=NUMBERS, classes=NUMBERS)
def test_random_targets(labels, seed, classes):
    _call(tpviz.random_targets, labels, seed=seed, num_classes=classes)


def test_the_strategies_reach_both_outcomes():
    """The property tests above can fail: a raw error is caught, and the pools hold valid calls too."""
    with pytest.raises(pytest.fail.Exception, match="ZeroDivisionError"):
        _call(lambda: 1 / 0)
    _call(tpviz.saliency_maps, TinyConv(classes=CLASSES), _image(), 0)  # valid: returns
    assert _large_valid(10**9) and not _large_valid(3) and not _large_valid(True) and not _large_valid(math.inf)


# SqueezeNet's one-class path (head.py), on images large enough for it to run: any labels, NaN, float64.
ONE_CLASS_CALLS = {
    "smoothgrad": lambda m, x, y: tpviz.smoothgrad(m, x, y, samples=2, batch_size=3),
    "integrated_gradients": lambda m, x, y: tpviz.integrated_gradients(m, x, y, steps=2),
    "occlusion": lambda m, x, y: tpviz.occlusion(m, x, y, patch=24, stride=24),
    "class_visualization": lambda m, x, y: tpviz.class_visualization(m, y, init=x, size=BIG, iterations=2),
}
BIG_IMAGES = st.sampled_from([_image((1, 3, BIG, BIG)), _image((2, 3, BIG, BIG)), _image((3, 3, BIG, BIG)),
                              _image((1, 3, BIG, BIG), fill=float("nan")), _image((1, 3, BIG, BIG), fill=1e30),
                              _image((1, 3, BIG, BIG), dtype=torch.float64), _image((1, 3, BIG, BIG), scale=255.0)])


@PROFILE
@given(name=st.sampled_from(sorted(ONE_CLASS_CALLS)), x=BIG_IMAGES, y=LABELS)
def test_squeezenet_one_class_path(name, x, y):
    _call(ONE_CLASS_CALLS[name], _squeezenet(), x, y)
