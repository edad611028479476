"""The hash index's wrappers (match/chains.py, key_map.py, plate_index.py): what they refuse, and how."""

import numpy as np
import pytest

from anpr_engine.errors import BadInput
from anpr_engine.match.chains import KeyChains
from anpr_engine.match.key_map import KeyMap
from anpr_engine.match.normalize import normalize_plates
from anpr_engine.match.plate_index import PlateIndex


def _chains() -> KeyChains:
    chains = KeyChains(4)
    chains.insert(np.array([11, 12, 13], dtype=np.int64), np.array([0, 1, 5]))
    return chains


def test_insert_takes_int64_keys_and_one_item_each() -> None:
    chains = KeyChains(4)
    with pytest.raises(BadInput, match="keys: need int64"):
        chains.insert(np.array([11, 12], dtype=np.int32), np.array([0, 1]))
    with pytest.raises(BadInput, match="items: need an integer array with one item per key"):
        chains.insert(np.array([11, 12], dtype=np.int64), np.array([0]))
    with pytest.raises(BadInput, match="items: need an integer array"):
        chains.insert(np.array([11], dtype=np.int64), np.array([0.0]))


def test_probe_takes_one_cost_and_codes_row_per_key() -> None:
    chains = _chains()
    keys = np.array([11, 13], dtype=np.int64)
    budget = np.zeros(6, np.int8)
    codes = np.zeros((2, 3), np.uint8)
    items = np.zeros((6, 3), np.uint8)
    row, item, _ = chains.probe(keys, np.zeros(2, np.int8), codes, items, budget)
    assert (row.tolist(), item.tolist()) == ([0, 1], [0, 5])
    with pytest.raises(BadInput, match="cost: need 2 rows, not 3"):
        chains.probe(keys, np.zeros(3, np.int8), codes, items, budget)
    with pytest.raises(BadInput, match="cost: need int8"):
        chains.probe(keys, np.zeros(2, np.int64), codes, items, budget)
    with pytest.raises(BadInput, match="codes: need uint8 with 2 dimensions"):
        chains.probe(keys, np.zeros(2, np.int8), np.zeros(2, np.uint8), items, budget)
    with pytest.raises(BadInput, match="item_codes: need 3 columns as codes has, not 4"):
        chains.probe(keys, np.zeros(2, np.int8), codes, np.zeros((6, 4), np.uint8), budget)
    with pytest.raises(BadInput, match="keys: need a C-contiguous array"):
        chains.probe(np.array([11, 0, 13], dtype=np.int64)[::2], np.zeros(2, np.int8), codes, items, budget)


def test_probe_needs_a_budget_for_every_item_inserted() -> None:
    chains = _chains()  # items up to 5
    keys = np.array([13], dtype=np.int64)
    with pytest.raises(BadInput, match="need a row for each of the 6 items"):
        chains.lookup(keys, np.zeros(5, np.int8))
    with pytest.raises(BadInput, match="need a row for each of the 6 items"):
        chains.probe(keys, np.zeros(1, np.int8), np.zeros((1, 2), np.uint8), np.zeros((5, 2), np.uint8),
                     np.zeros(6, np.int8))  # fmt: skip
    assert chains.lookup(keys, np.zeros(6, np.int8))[1].tolist() == [5]


def test_key_map_takes_one_integer_slot_per_key() -> None:
    keys = KeyMap()
    with pytest.raises(BadInput, match="slots: need an integer array with one slot per key"):
        keys.put(["a", "b"], np.array([0]))
    with pytest.raises(BadInput, match="slots: need an integer array"):
        keys.put(["a"], [0])  # type: ignore[arg-type]
    keys.put(["a", "b"], np.array([3, 1]))
    assert keys.find(["b", "c", "a"]).tolist() == [1, -1, 3]


def test_plate_index_checks_what_it_is_given() -> None:
    index = PlateIndex(())
    plates = normalize_plates(["AB12CD", "AB12C"])
    with pytest.raises(BadInput, match="one budget of each kind per plate"):
        index.add(plates, np.zeros(1, np.int8))
    index.add(plates, np.zeros(2, np.int8), np.array([0, 1], np.int8))
    with pytest.raises(BadInput, match="cost: need 1 rows, not 2"):
        index.probe_keys(plates.keys[:1].copy(), np.zeros(2, np.int8))
    with pytest.raises(BadInput, match="keys: need int64"):
        index.probe_keys(plates.keys.astype(np.uint64), np.zeros(2, np.int8))
    with pytest.raises(BadInput, match="skip: need bool"):
        index.probe_differences(plates, skip=np.zeros(2, np.int8))
    with pytest.raises(BadInput, match="skip: need 2 rows, not 1"):
        index.probe_differences(plates, skip=np.zeros(1, bool))
    hits = index.probe_differences(plates, skip=np.zeros(2, bool))  # only AB12C has a budget of differences
    assert (hits.read.tolist(), hits.slot.tolist()) == ([0], [1])
