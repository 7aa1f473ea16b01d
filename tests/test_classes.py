"""Class lookup by index or name: case, synonyms, typos, ambiguity."""

from __future__ import annotations

import pytest

import tpviz


def test_1000_names_in_index_order():
    names = tpviz.class_names()
    assert len(names) == 1000 and names[0] == "tench" and names[113] == "snail"


@pytest.mark.parametrize("query, index", [
    ("snail", 113), ("Snail", 113), ("  SNAIL ", 113), ("Tibetan mastiff", 244), ("tibetan_mastiff", 244),
    ("hay", 958), ("quail", 85), ("Border terrier", 182), ("brown bear", 294), ("bruin", 294),
    ("Ursus arctos", 294), (113, 113), ("bulbul", 16),
])
def test_lookup(query, index):
    assert tpviz.class_index(query) == index


def test_name_of_index():
    assert tpviz.class_name(244) == "Tibetan mastiff"


def test_typo_suggests_nearest_names():
    with pytest.raises(tpviz.InputError, match=r"unknown ImageNet class 'snial'.*Did you mean.*'snail' \(113\)"):
        tpviz.class_index("snial")
    with pytest.raises(tpviz.InputError, match=r"'tibetan mastiff' \(244\)"):
        tpviz.class_index("tibetan mastif")


def test_ambiguous_name_lists_every_class():
    with pytest.raises(tpviz.InputError, match=r"ambiguous.*134.*517"):
        tpviz.class_index("crane")


@pytest.mark.parametrize("bad", [-1, 1000, True, 2.5, None])
def test_bad_index(bad):
    with pytest.raises(tpviz.InputError):
        tpviz.class_index(bad)
