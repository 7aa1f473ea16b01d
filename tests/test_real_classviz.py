"""Section 3 on the real ImageNet SqueezeNet 1.1 (skipped with a reason when its weights are absent)."""

from __future__ import annotations

import pytest
import torch

import tpviz

CLASSES = ["snail", "tarantula", "gorilla", "hourglass", "oboe"]
TP_LR = [1.0, 3.0, 5.0, 7.0, 9.0]
TP_ITERATIONS = [100, 200, 300, 400, 500]
TP_L2 = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]


def mean_abs(images: torch.Tensor) -> list[float]:
    """Mean |pixel| (model-input units: distance from the mean ImageNet colour) of each image (..., 3, H, W)."""
    return images.abs().mean(dim=(-3, -2, -1)).flatten().tolist()


def increasing(values: list[float]) -> bool:
    return all(b > a for a, b in zip(values, values[1:]))


@pytest.fixture(scope="module")
def lr_sweep(squeezenet) -> tpviz.Sweep:
    """The TP's Figure 5, plus early snapshots for the batch-vs-alone comparison."""
    return tpviz.sweep(squeezenet, "snail", lr=TP_LR, iterations=[10, 40, 200])


def test_five_classes_from_noise_are_classified_as_their_target(squeezenet):
    targets = [tpviz.class_index(c) for c in CLASSES]
    result = tpviz.class_visualization(squeezenet, CLASSES, iterations=200)
    with torch.no_grad():
        predicted = squeezenet(result.images).argmax(dim=1).tolist()
    assert predicted == targets, [tpviz.class_name(p) for p in predicted]


def test_snail_from_hay_rises_and_stays_closer_to_hay_than_noise(squeezenet, val5):
    hay = tpviz.preprocess(val5.images[:1])
    assert val5.names[0] == "hay"
    snail = tpviz.class_index("snail")
    from_hay = tpviz.class_visualization(squeezenet, snail, init=hay, iterations=100)
    from_noise = tpviz.class_visualization(squeezenet, snail, iterations=100)
    with torch.no_grad():
        start_score = float(squeezenet(hay)[0, snail])
    assert float(from_hay.score) > start_score + 10
    assert float(from_hay.target_probability) > 0.5
    assert float((from_hay.images - hay).norm()) < 0.5 * float((from_noise.images - hay).norm())


def test_mean_pixel_grows_with_the_learning_rate(lr_sweep):
    assert increasing(mean_abs(lr_sweep.images[:, 0, -1]))


def test_iterations_raise_the_score_and_then_the_mean_pixel(squeezenet):
    """The TP's Figure 6 as snapshots of one run. The target score rises over all of it. Mean |pixel| does
    not rise over all of it: it first falls while the start noise, blurred every 10 iterations, fades (0.80
    at 0, 0.15 at 100), bottoms out around 250 (0.13, flat from 200 to 300: measured with seeds 0 and 1),
    and rises from 300 on, which is what is tested; the TP's "grows with iterations" holds from there."""
    run = tpviz.class_visualization(squeezenet, "snail", iterations=max(TP_ITERATIONS), snapshots=TP_ITERATIONS)
    shots = torch.cat([run.snapshots[k] for k in TP_ITERATIONS])
    with torch.no_grad():
        scores = squeezenet(shots)[:, tpviz.class_index("snail")].tolist()
    assert increasing(scores), scores
    assert increasing(mean_abs(shots)[2:]), mean_abs(shots)
    assert mean_abs(shots)[0] > mean_abs(shots)[1], "the start noise should still be fading at 100 iterations"


def test_mean_pixel_falls_with_l2(squeezenet):
    grid = tpviz.sweep(squeezenet, "snail", l2_reg=TP_L2, iterations=200)
    assert increasing(mean_abs(grid.images[0, :, 0])[::-1])


def test_batch_equals_alone_early_and_in_substance_later(squeezenet, lr_sweep):
    """The ascent is chaotic: a batch and a single run use different convolution kernels, so they agree to
    float rounding over the first iterations and in substance (score, class) later."""
    alone = tpviz.class_visualization(squeezenet, "snail", lr=9.0, iterations=200, snapshots=[10, 40])
    batch = lr_sweep.images[-1, 0]  # lr 9: snapshots at 10, 40, 200
    corr = [float(torch.corrcoef(torch.stack([batch[k].flatten(), ref.flatten()]))[0, 1])
            for k, ref in enumerate([alone.snapshots[10][0], alone.snapshots[40][0], alone.images[0]])]
    # lr 9 is the most chaotic setting: after 10 steps the plain and the channels_last kernels (batch 5 vs batch 1
    # here) already differ at the 1e-3 level in correlation (0.9997 plain vs plain, 0.9988 channels_last vs plain,
    # measured 2026-12-04), while the gradients of one step agree to float tolerance (tests/test_memory_layout.py).
    assert corr[0] > 0.995, corr
    assert corr[1] > 0.8, corr
    assert int(lr_sweep.predicted[-1, 0, -1]) == int(alone.predicted) == tpviz.class_index("snail")
    assert abs(float(lr_sweep.score[-1, 0, -1]) - float(alone.score)) < 0.1 * float(alone.score)
