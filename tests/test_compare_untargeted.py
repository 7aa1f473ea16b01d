"""compare_attacks(labels=...): untargeted FGSM and PGD rows beside the targeted ones, and its progress."""

from __future__ import annotations

import numpy as np
import torch

import tpviz


def _pixels(n: int) -> torch.Tensor:
    return tpviz.preprocess(np.random.default_rng(1).integers(0, 256, (n, 8, 8, 3), dtype=np.uint8))


def test_untargeted_rows_match_direct_calls(linear):
    x = _pixels(4)
    with torch.no_grad():
        labels = linear(x).argmax(dim=1)
    targets = (labels + 1) % 10
    rows = tpviz.compare_attacks(linear, x, targets, eps=(1 / 255, 8 / 255), max_iter=3, steps=2, labels=labels)
    assert [r["method"] for r in rows] == ["naive", "fgsm", "pgd", "fgsm-untargeted", "pgd-untargeted"] * 2
    for e, block in zip((1 / 255, 8 / 255), (rows[:5], rows[5:])):
        fg = tpviz.fgsm(linear, x, eps=e, label=labels)
        pg = tpviz.pgd(linear, x, eps=e, steps=2, label=labels)
        assert block[3]["success_rate"] == fg.success.float().mean().item()
        assert block[4]["success_rate"] == pg.success.float().mean().item()
        torch.testing.assert_close(fg.success, fg.predicted != labels)
    assert rows[0].keys() == rows[3].keys()
    print(tpviz.format_table(rows))  # all rows share the table's columns


def test_without_labels_there_are_no_untargeted_rows_and_progress_counts_runs(linear):
    x = _pixels(2)
    seen: list[tuple[int, int]] = []
    rows = tpviz.compare_attacks(linear, x, 3, eps=(2 / 255,), max_iter=2, steps=1,
                                 progress=lambda d, t: seen.append((d, t)))
    assert [r["method"] for r in rows] == ["naive", "fgsm", "pgd"]
    assert seen == [(1, 3), (2, 3), (3, 3)]
