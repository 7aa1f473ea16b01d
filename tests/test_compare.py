"""Section 2's comparison table: the naive method counted within each budget, FGSM/PGD per budget,
random targets, and the plain-text table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tpviz
import tpviz.algorithms.compare as compare


def _pixels(n: int, seed: int = 0) -> torch.Tensor:
    """n random 8x8 images as model inputs (inside the valid pixel range)."""
    rng = np.random.default_rng(seed)
    return tpviz.preprocess(rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8))


def _already_fooled_and_far(linear):
    """Image 0 targets the class it is already predicted as (no step: L∞ 0); image 1 targets another
    class, reached with big steps (L∞ ~50 levels, far beyond a small budget)."""
    x = _pixels(2)
    with torch.no_grad():
        predicted = linear(x).argmax(dim=1)
    target = torch.stack([predicted[0], (predicted[1] + 1) % 10])
    return x, target


def test_naive_counts_only_successes_within_the_budget(linear):
    x, target = _already_fooled_and_far(linear)
    naive = tpviz.fooling_image(linear, x, target, lr=5.0, max_iter=20)
    assert naive.success.tolist() == [True, True]
    assert naive.iterations[0] == 0 and naive.linf[0] == 0
    assert naive.linf[1] > 4, "the construction needs image 1 far outside every budget"
    rows = tpviz.compare_attacks(linear, x, target, lr=5.0, max_iter=20, steps=2)
    naive_rows = [r for r in rows if r["method"] == "naive"]
    assert [r["eps"] for r in naive_rows] == [1.0, 2.0, 4.0]
    for row in naive_rows:  # fooled twice, but only once within the budget
        assert row["success_rate"] == 0.5
        assert row["survives_saving_rate"] == 0.5
        # its means cover every image, whatever its distance
        assert row["mean_iterations"] == pytest.approx(naive.iterations.float().mean().item())
        assert row["mean_l2"] == pytest.approx(naive.l2.mean().item())
        assert row["mean_psnr"] == pytest.approx(naive.psnr[1].item())  # image 0 is unchanged: PSNR inf


def test_a_budget_wide_enough_counts_every_naive_success(linear):
    x, target = _already_fooled_and_far(linear)
    naive = tpviz.fooling_image(linear, x, target, lr=5.0, max_iter=20)
    wide = naive.linf.max().item() / 255 * 1.01
    (row,) = [r for r in tpviz.compare_attacks(linear, x, target, eps=(wide,), lr=5.0, max_iter=20, steps=2)
              if r["method"] == "naive"]
    assert row["success_rate"] == 1.0


def test_fgsm_and_pgd_rows_are_their_own_runs_at_each_budget(tiny):
    x = _pixels(3, seed=1)
    target = [1, 4, 6]
    eps = (2 / 255, 8 / 255)
    rows = tpviz.compare_attacks(tiny, x, target, eps=eps, max_iter=3, steps=3, seed=5)
    assert [(r["method"], r["eps"]) for r in rows] == [
        ("naive", 2.0), ("fgsm", 2.0), ("pgd", 2.0), ("naive", 8.0), ("fgsm", 8.0), ("pgd", 8.0)]
    assert all(list(r) == ["method", "eps", "success_rate", "survives_saving_rate", "mean_iterations",
                           "mean_l2", "mean_psnr"] for r in rows)
    for e, fgsm_row, pgd_row in zip(eps, rows[1::3], rows[2::3]):
        for row, result in ((fgsm_row, tpviz.fgsm(tiny, x, target, eps=e)),
                            (pgd_row, tpviz.pgd(tiny, x, target, eps=e, steps=3, seed=5))):
            summary = result.summary()
            assert row["success_rate"] == summary["success_rate"]
            assert row["mean_iterations"] == summary["mean_iterations"]
            assert row["mean_l2"] == pytest.approx(summary["mean_l2"])
            assert result.linf.max().item() <= e * 255 + 1e-3, "a bounded attack left its budget"


@pytest.mark.parametrize("eps, match", [(2 / 255, r"eps=\(2/255,\)"), ((), "non-empty"),
                                        ((2 / 255, 2.0), "pixel units of the 0–1 image")])
def test_bad_budgets_are_clear_errors_before_any_work(tiny, eps, match):
    with pytest.raises(tpviz.InputError, match=match):
        tpviz.compare_attacks(tiny, torch.zeros(1, 3, 8, 8), 1, eps=eps)


def test_numpy_budgets_are_fine_and_bad_steps_fail_before_the_naive_run(tiny):
    x = _pixels(1)
    rows = tpviz.compare_attacks(tiny, x, 1, eps=np.array([2.0]) / 255, max_iter=1, steps=1)
    assert [r["eps"] for r in rows] == [2.0] * 3
    with pytest.raises(tpviz.InputError, match="steps must be a positive int"):
        tpviz.compare_attacks(tiny, x, 1, steps=0)


def test_random_targets_differ_from_the_labels_and_are_deterministic():
    labels = torch.arange(1000).repeat(3)
    targets = tpviz.random_targets(labels, seed=1)
    assert targets.dtype == torch.long and targets.shape == labels.shape
    assert not bool((targets == labels).any())
    assert bool(((targets >= 0) & (targets < 1000)).all())
    assert torch.equal(targets, tpviz.random_targets(labels, seed=1))
    assert not torch.equal(targets, tpviz.random_targets(labels, seed=2))
    assert torch.equal(tpviz.random_targets(labels.numpy(), seed=1), targets)  # numpy labels, as load_imagenet_val gives


def test_random_targets_are_drawn_among_all_other_classes():
    targets = tpviz.random_targets([1] * 300, num_classes=3)
    assert set(targets.tolist()) == {0, 2}


@pytest.mark.parametrize("labels, match", [(torch.zeros(2, 2, dtype=torch.long), "one class index per image"),
                                           ([0, 1000], "outside 0–999"), (3, "one class index per image")])
def test_random_targets_bad_labels(labels, match):
    with pytest.raises(tpviz.InputError, match=match):
        tpviz.random_targets(labels)


def test_format_table_has_a_header_a_rule_and_one_aligned_line_per_row():
    rows = [{"method": "naive", "eps": 1.0, "success_rate": 0.5, "mean_psnr": float("inf")},
            {"method": "pgd", "eps": 4.0, "success_rate": 1.0, "mean_psnr": 45.678}]
    lines = tpviz.format_table(rows).splitlines()
    assert len(lines) == 2 + len(rows)
    assert lines[0].split() == ["method", "eps", "success_rate", "mean_psnr"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["naive", "1.00", "0.50", "inf"]
    assert lines[3].split() == ["pgd", "4.00", "1.00", "45.68"]
    assert len({len(line) for line in lines}) == 1, "columns are not aligned"
    assert lines[3].index("pgd") == 0 and lines[3].endswith("45.68")


def test_format_table_bad_rows():
    with pytest.raises(tpviz.InputError, match="no rows"):
        tpviz.format_table([])
    with pytest.raises(tpviz.InputError, match="same keys"):
        tpviz.format_table([{"a": 1.0}, {"b": 2.0}])


def test_a_naive_result_given_is_reused_not_recomputed(linear, monkeypatch):
    x, target = _already_fooled_and_far(linear)
    naive = tpviz.fooling_image(linear, x, target, lr=5.0, max_iter=20)
    expected = tpviz.compare_attacks(linear, x, target, lr=5.0, max_iter=20, steps=2)
    calls: list[tuple] = []
    real = compare.fooling_image
    monkeypatch.setattr(compare, "fooling_image", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert tpviz.compare_attacks(linear, x, target, lr=5.0, max_iter=20, steps=2, naive=naive) == expected
    assert calls == [], "the naive method ran again"


def test_a_naive_result_for_other_targets_is_refused(linear):
    x, target = _already_fooled_and_far(linear)
    naive = tpviz.fooling_image(linear, x, (target + 1) % 10, lr=5.0, max_iter=20)
    with pytest.raises(tpviz.InputError, match="other images or targets"):
        tpviz.compare_attacks(linear, x, target, naive=naive)
    with pytest.raises(tpviz.InputError, match="what tpviz.fooling_image returned"):
        tpviz.compare_attacks(linear, x, target, naive=tpviz.pgd(linear, x, target, eps=2 / 255, steps=1))
