"""Section 3 class visualization against the closed form on a linear model, and its contracts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import tpviz

from .conftest import DEVICES, Linear, TinyConv

PLAIN = {"max_jitter": 0, "blur_every": None}  # plain gradient ascent: no jitter, no blur


def test_linear_model_converges_to_the_closed_form_optimum(linear: Linear):
    """score_t(x) - λ||x||² = W[t]·x + b - λ||x||² is maximised at x* = W[t] / (2λ); with normalised steps of
    length lr the ascent ends within lr of it."""
    lam, lr, targets = 2.0, 0.02, [0, 3, 7]
    result = tpviz.class_visualization(linear, targets, lr=lr, l2_reg=lam, iterations=1200, size=8, **PLAIN)
    for i, t in enumerate(targets):
        optimum = linear.w(t) / (2 * lam)
        assert float(optimum.abs().max()) < 1.5, "the optimum must lie inside the pixel range for this oracle"
        assert float((result.images[i] - optimum).norm()) <= lr * 1.01
        cosine = torch.nn.functional.cosine_similarity(result.images[i].flatten(), optimum.flatten(), dim=0)
        assert float(cosine) > 0.999


def test_without_l2_the_image_moves_along_the_weight_row(linear: Linear):
    """With λ = 0 every normalised step is exactly lr · W[t] / ||W[t]|| (until the clamp binds)."""
    x0 = 0.01 * torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    result = tpviz.class_visualization(linear, 2, init=x0, lr=0.01, l2_reg=0.0, iterations=5, size=8, **PLAIN)
    w = linear.w(2)
    torch.testing.assert_close(result.images[0], x0[0] + 5 * 0.01 * w / w.norm(), rtol=0, atol=1e-6)


def test_deterministic_for_a_seed(tiny: TinyConv):
    kw = {"iterations": 6, "size": 12, "max_jitter": 3, "blur_every": 2}
    a = tpviz.class_visualization(tiny, 2, seed=5, **kw)
    b = tpviz.class_visualization(tiny, 2, seed=5, **kw)
    c = tpviz.class_visualization(tiny, 2, seed=6, **kw)
    assert torch.equal(a.images, b.images)
    assert not torch.equal(a.images, c.images)


def test_images_stay_in_the_pixel_range(tiny: TinyConv):
    result = tpviz.class_visualization(tiny, 1, lr=50.0, iterations=5, size=12, max_jitter=2)
    assert torch.equal(tpviz.clamp_pixels(result.images), result.images)


def test_a_batch_of_classes_equals_each_class_alone(tiny: TinyConv):
    kw = {"iterations": 5, "size": 12, "max_jitter": 3, "blur_every": 2, "seed": 1}
    batch = tpviz.class_visualization(tiny, [0, 4, 6], **kw)
    for i, t in enumerate([0, 4, 6]):
        alone = tpviz.class_visualization(tiny, t, **kw)
        torch.testing.assert_close(batch.images[i], alone.images[0], rtol=0, atol=1e-5)
        torch.testing.assert_close(batch.score[i], alone.score[0], rtol=1e-5, atol=1e-5)


def test_sweep_equals_each_setting_alone(tiny: TinyConv):
    kw = {"size": 12, "max_jitter": 3, "blur_every": 2, "seed": 2}
    grid = tpviz.sweep(tiny, 3, lr=[0.5, 2.0, 4.0], l2_reg=[0.0, 0.1], iterations=[2, 5], batch_size=4, **kw)
    assert grid.images.shape == (3, 2, 2, 3, 12, 12)
    for i, lr in enumerate(grid.lr):
        for j, l2 in enumerate(grid.l2_reg):
            for k, its in enumerate(grid.iterations):
                alone = tpviz.class_visualization(tiny, 3, lr=lr, l2_reg=l2, iterations=its, **kw)
                torch.testing.assert_close(grid.images[i, j, k], alone.images[0], rtol=0, atol=1e-5)
                torch.testing.assert_close(grid.score[i, j, k], alone.score[0], rtol=1e-5, atol=1e-5)
                assert grid.predicted[i, j, k] == alone.predicted[0]
                assert torch.equal(grid.image(lr=lr, l2_reg=l2, iterations=its), grid.images[i, j, k][None])


def test_snapshots_are_the_shorter_runs(tiny: TinyConv):
    kw = {"size": 12, "max_jitter": 2, "blur_every": 3, "seed": 0}
    long = tpviz.class_visualization(tiny, 1, iterations=7, snapshots=[0, 3, 7], **kw)
    assert sorted(long.snapshots) == [0, 3, 7]
    torch.testing.assert_close(long.snapshots[0], tpviz.start_image(None, seed=0, size=12))
    torch.testing.assert_close(long.snapshots[3], tpviz.class_visualization(tiny, 1, iterations=3, **kw).images)
    assert torch.equal(long.snapshots[7], long.images)


def test_callback_and_progress_report_every_iteration(tiny: TinyConv):
    seen: list[int] = []
    tpviz.class_visualization(tiny, 1, iterations=4, size=12, max_jitter=3, callback=lambda i, img: seen.append(i))
    assert seen == [1, 2, 3, 4]
    ticks: list[tuple[int, int]] = []
    tpviz.sweep(tiny, 1, lr=[1.0, 2.0, 3.0], iterations=[2, 3], size=12, max_jitter=3, batch_size=2,
                progress=lambda done, total: ticks.append((done, total)))
    assert ticks == [(i, 6) for i in range(1, 7)]  # two batches of 3 iterations


def test_sweep_lookup_outside_the_grid_says_how(tiny: TinyConv):
    grid = tpviz.sweep(tiny, 1, lr=[1.0, 2.0], iterations=2, size=12, max_jitter=3)
    assert grid.index(lr=2.0, l2_reg=1e-3, iterations=2) == (1, 0, 0)
    assert grid.index(lr=3.0, l2_reg=1e-3, iterations=2) is None
    with pytest.raises(tpviz.InputError, match="not in this sweep's grid.*class_visualization"):
        grid.image(lr=3.0, l2_reg=1e-3, iterations=2)


def test_start_image_from_pixels_pil_and_tensor():
    pixels = np.random.default_rng(0).integers(0, 256, (12, 12, 3), dtype=np.uint8)
    from_pixels = tpviz.start_image(pixels, size=12)
    assert torch.equal(from_pixels, tpviz.preprocess(pixels))
    gray = Image.fromarray(pixels[..., 0], mode="L").resize((30, 20))
    from_pil = tpviz.start_image(gray, size=12)
    assert from_pil.shape == (1, 3, 12, 12)
    assert torch.equal(tpviz.start_image(from_pixels, size=12), from_pixels)


def test_a_start_image_is_not_modified(tiny: TinyConv):
    x = tpviz.preprocess(np.random.default_rng(1).integers(0, 256, (12, 12, 3), dtype=np.uint8))
    before = x.clone()
    result = tpviz.class_visualization(tiny, 2, init=x, iterations=3, size=12, max_jitter=3)
    assert torch.equal(x, before)
    assert not torch.equal(result.images, x)


@pytest.mark.parametrize("kw, match", [
    ({"lr": 0}, "lr must be a positive number"),
    ({"lr": -1.0}, "lr must be a positive number"),
    ({"iterations": 0}, "iterations must be a positive int"),
    ({"iterations": 2.5}, "iterations must be a positive int"),
    ({"l2_reg": -0.1}, "l2_reg must be a number >= 0"),
    ({"blur_every": 0}, "blur_every must be a positive int.*None"),
    ({"max_jitter": 12}, "max_jitter=12 is not smaller than the image"),
    ({"max_jitter": -1}, "max_jitter must be an int >= 0"),
    ({"snapshots": [20]}, "snapshots must be iteration counts"),
    ({"init": torch.zeros(1, 3, 20, 20)}, r"init is 20x20 pixels but size=12.*load_image"),
    ({"init": torch.zeros(1, 1, 12, 12)}, "1 channel.*RGB.*load_image"),
    ({"init": np.zeros((12, 12), dtype=np.uint8)}, r"uint8 RGB pixels \(H, W, 3\)"),
    ({"init": torch.full((1, 3, 12, 12), float("nan"))}, "NaN"),
])
def test_bad_knobs(tiny: TinyConv, kw, match):
    args = {"iterations": 2, "size": 12, "max_jitter": 3, **kw}
    with pytest.raises(tpviz.InputError, match=match):
        tpviz.class_visualization(tiny, 1, **args)


@pytest.mark.parametrize("target, match", [("snial", "Did you mean"), (7, r"outside 0–6"), ([1, 2, 3], None)])
def test_bad_classes(tiny: TinyConv, target, match):
    if match is None:  # three classes for a start image of one: fine, grown from the same start
        assert tpviz.class_visualization(tiny, target, iterations=1, size=12, max_jitter=3).images.shape[0] == 3
        return
    with pytest.raises(tpviz.InputError, match=match):
        tpviz.class_visualization(tiny, target, iterations=1, size=12, max_jitter=3)


@pytest.mark.parametrize("kw, match", [
    ({"lr": []}, "lr has no values"),
    ({"iterations": []}, "iterations has no values"),
    ({"l2_reg": [0.1, -1.0]}, "l2_reg must be a number >= 0"),
    ({"lr": [1.0, 1.0]}, "lr has repeated values"),
    ({"iterations": [2, 3.5]}, "iterations must be ints"),
    ({"batch_size": 0}, "batch_size must be a positive int"),
])
def test_bad_sweeps(tiny: TinyConv, kw, match):
    with pytest.raises(tpviz.InputError, match=match):
        tpviz.sweep(tiny, 1, size=12, max_jitter=3, **{"iterations": 2, **kw})


@pytest.mark.parametrize("device", DEVICES)
def test_axis_sweeps_equal_each_setting_alone(tiny: TinyConv, device: str):
    tiny = tiny.to(device)
    atol = 1e-5 if device == "cpu" else 1e-3  # CUDA: cuDNN may run convolutions in TF32, by batch size
    kw = {"size": 12, "max_jitter": 3, "blur_every": 2, "seed": 4}
    lines = tpviz.axis_sweeps(tiny, 5, lr=[1.0, 2.0, 4.0], l2_reg=[0.0, 0.01], iterations=[2, 6, 9],
                              base_lr=2.0, base_l2_reg=0.01, base_iterations=4, **kw)
    assert lines["lr"].images.shape == (3, 1, 1, 3, 12, 12)
    assert lines["l2_reg"].images.shape == (1, 2, 1, 3, 12, 12)
    assert lines["iterations"].images.shape == (1, 1, 3, 3, 12, 12)
    expected = {"lr": [(v, 0.01, 4) for v in [1.0, 2.0, 4.0]], "l2_reg": [(2.0, v, 4) for v in [0.0, 0.01]],
                "iterations": [(2.0, 0.01, k) for k in [2, 6, 9]]}
    for name, settings in expected.items():
        grid = lines[name]
        for flat, (lr, l2, its) in enumerate(settings):
            alone = tpviz.class_visualization(tiny, 5, lr=lr, l2_reg=l2, iterations=its, **kw)
            got = grid.image(lr=lr, l2_reg=l2, iterations=its)
            torch.testing.assert_close(got, alone.images, rtol=0, atol=atol)
            torch.testing.assert_close(grid.score.flatten()[flat], alone.score[0], rtol=atol, atol=atol)


def test_axis_sweeps_bad_values(tiny: TinyConv):
    with pytest.raises(tpviz.InputError, match="l2_reg has no values"):
        tpviz.axis_sweeps(tiny, 1, l2_reg=[], size=12, max_jitter=3)
    with pytest.raises(tpviz.InputError, match="iterations must be a positive int"):
        tpviz.axis_sweeps(tiny, 1, base_iterations=0, size=12, max_jitter=3)
