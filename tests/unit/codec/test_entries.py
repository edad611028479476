"""Decoding watchlist records in bulk: never looser than the WatchlistEntry model, equal to it on
what it accepts, and never raising on a record's content."""

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from anpr_engine.codec.entries import NEVER, EntryRows, decode_entries
from anpr_engine.models import WatchlistEntry
from tests.helpers.strategies import json_values

GOOD = {
    "entry_id": "nl-1", "plate": "12-BD-34", "plate_country": "NL", "list_name": "stolen", "agency": "Politie",
    "agency_country": "NL", "category": "stolen_vehicle", "priority": 10, "action": "seize",
    "valid_from_ms": None, "valid_until_ms": 1_900_000_000_000, "note": None,
}  # fmt: skip
FIELDS = sorted(GOOD)
odd_values = json_values | st.sampled_from(["", "x" * 130, "NL", "nl", "seize", "other", 0, 100, 101, -1, 2**63])


@st.composite
def records(draw: st.DrawFn) -> bytes:
    d: dict[str, object] = dict(GOOD, entry_id=draw(st.text(min_size=1, max_size=5)))
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            d.pop(key)
        else:
            d[key] = draw(odd_values)
    return json.dumps(d).encode() if draw(st.integers(0, 9)) else json.dumps(draw(json_values)).encode()


def _model(value: bytes) -> WatchlistEntry | None:
    try:
        return WatchlistEntry.model_validate_json(value)
    except ValidationError:
        return None


@settings(max_examples=300)
@given(st.lists(records(), max_size=15))
def test_decoded_entries_equal_the_models_verdict(values: list[bytes]) -> None:
    rows, at, rejects = decode_entries(values, bulk_min=0)  # the bulk path, however few
    verdicts = [_model(v) for v in values]
    assert sorted(at) == [i for i, v in enumerate(verdicts) if v is not None]
    assert sorted(i for i, _ in rejects) == [i for i, v in enumerate(verdicts) if v is None]
    assert all(why for _, why in rejects)
    want = EntryRows.of([v for v in (verdicts[i] for i in at) if v is not None], [values[i] for i in at])
    assert (rows.entry_id, rows.plate, rows.plate_country, rows.list_name, rows.json) == (
        want.entry_id,
        want.plate,
        want.plate_country,
        want.list_name,
        want.json,
    )
    assert np.array_equal(rows.valid_from, want.valid_from) and np.array_equal(rows.valid_until, want.valid_until)


def test_fields_left_to_their_defaults_are_judged_by_the_model() -> None:
    value = json.dumps({k: v for k, v in GOOD.items() if k not in ("priority", "action", "valid_until_ms")}).encode()
    rows, at, rejects = decode_entries([value, b'{"entry_id": "x"}'], bulk_min=0)
    assert at == [0] and rows.valid_until.tolist() == [NEVER] and [i for i, _ in rejects] == [1]
