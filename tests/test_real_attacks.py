"""Section 2 on the real ImageNet SqueezeNet 1.1 (skipped with a reason when its weights are absent)."""

from __future__ import annotations

import torch

import tpviz


def predict(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x).argmax(dim=1)


def test_naive_fooling_mastiff_to_bulbul(squeezenet, val5):
    x = tpviz.preprocess(val5.images[2:3])
    assert val5.names[2] == "Tibetan mastiff"
    bulbul = tpviz.class_index("bulbul")
    result = tpviz.fooling_image(squeezenet, x, "bulbul", max_iter=100)
    assert bool(result.success) and int(result.iterations) <= 100
    assert int(predict(squeezenet, result.images)) == bulbul  # checked independently of the attack
    assert float(result.psnr) > 40, "a fooling image should be nearly invisible"


def test_pgd_at_2_over_255_fools_90_percent(squeezenet, val25):
    x = tpviz.preprocess(val25.images)
    targets = tpviz.random_targets(torch.as_tensor(val25.labels), seed=0)
    result = tpviz.pgd(squeezenet, x, targets, eps=2 / 255)
    fooled = predict(squeezenet, result.images) == targets
    assert float(fooled.float().mean()) >= 0.9, f"PGD fooled {int(fooled.sum())}/25"
    assert torch.equal(fooled, result.success)
    assert float(result.linf.max()) <= 2 + 1e-3


def test_until_saved_survives_rounding_to_8_bits(squeezenet, val5):
    """Every image that until_saved reports as fooled is still fooled once rounded to 8-bit pixels."""
    x = tpviz.preprocess(val5.images)
    targets = tpviz.random_targets(torch.as_tensor(val5.labels), seed=1)
    result = tpviz.fooling_image(squeezenet, x, targets, until_saved=True)
    assert int(result.success.sum()) >= 4, result.success
    assert torch.equal(result.survives_saving, result.success)
    saved_ok = predict(squeezenet, tpviz.quantize(result.images)) == targets
    assert torch.equal(saved_ok, result.success)
