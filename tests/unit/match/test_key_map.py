"""The watchlist's key map and JSON store against a plain dict, over any sequence of puts and removes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anpr_engine.kernels.keys import hash_strings
from anpr_engine.match import json_store, key_map
from anpr_engine.match.json_store import JsonStore
from anpr_engine.match.key_map import KeyMap

keys = st.text(alphabet="ab|é0", min_size=0, max_size=4)
ops = st.lists(st.tuples(st.booleans(), st.lists(keys, max_size=40, unique=True)), max_size=30)


@given(ops)
@settings(max_examples=150, deadline=None)
def test_key_map_and_json_store_equal_a_dict(sequence: list[tuple[bool, list[str]]]) -> None:
    """(True, keys): put each key not held yet in a free slot; (False, keys): remove those held."""
    km, js = KeyMap(), JsonStore()
    held: dict[str, int] = {}
    free = list(range(200))[::-1]
    for put, batch in sequence:
        if put:
            new = [k for k in batch if k not in held]
            slots = np.array([free.pop() for _ in new], dtype=np.int64)
            km.put(new, slots)
            js.put(slots.tolist(), [f"{{{k}}}".encode() for k in new])
            held.update(zip(new, slots.tolist(), strict=True))
        else:
            for k in batch:
                if k in held:
                    slot = held.pop(k)
                    km.remove(slot)
                    js.remove(slot)
                    free.append(slot)
        probe = [*batch, *held]
        assert km.find(probe).tolist() == [held.get(k, -1) for k in probe]
        assert len(km) == len(held) and sorted(km.slots().tolist()) == sorted(held.values())
        assert all(km.key(s) == k and js.get(s) == f"{{{k}}}".encode() for k, s in held.items())


def test_stores_compact_and_repack_under_churn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many replacements of few keys: the arena is compacted and sparse blocks repacked, values kept."""
    monkeypatch.setattr(key_map, "MIN_GARBAGE", 0)
    monkeypatch.setattr(json_store, "MIN_DEAD", 0)
    km, js = KeyMap(), JsonStore()
    live: dict[int, str] = {}
    for round_ in range(300):
        for slot in list(live)[: len(live) // 2]:
            km.remove(slot)
            js.remove(slot)
            del live[slot]
        slots = [s for s in range(400) if s not in live][:100]
        names = [f"key-{round_}-{s}-" + "x" * 40 for s in slots]
        km.put(names, np.array(slots, dtype=np.int64))
        js.put(slots, [n.encode() for n in names])
        live.update(zip(slots, names, strict=True))
        assert km.find(list(live.values())).tolist() == list(live)
        assert all(js.get(s) == n.encode() for s, n in live.items())
    assert km.nbytes < 4 << 20 and js.nbytes < 1 << 20  # garbage did not pile up


def test_hashes_are_never_zero() -> None:
    buf = np.frombuffer(b"abc", dtype=np.uint8)
    out = np.empty(2, dtype=np.int64)
    hash_strings(buf, np.array([0, 0, 3], dtype=np.int64), out)
    assert (out != 0).all() and out[0] != out[1]
