"""Decoding read messages: the vectorized fast path is never looser than the PlateRead model."""

import json

from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.codec.reads import MESSAGE_INDEX, decode_reads, validate_one
from anpr_engine.models import PlateRead
from tests.helpers.builders import GOOD

field_values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=False), st.text(max_size=5),
    st.sampled_from(["NL", "nl", "BEL", "inbound", "outbound", "", "x" * 130]),
)  # fmt: skip


@st.composite
def read_dicts(draw: st.DrawFn) -> dict[str, object]:
    d = dict(GOOD, read_id=draw(st.text(min_size=1, max_size=8)))
    for key in draw(st.lists(st.sampled_from(sorted(GOOD)), max_size=3, unique=True)):
        if draw(st.booleans()):
            d.pop(key)
        else:
            d[key] = draw(field_values)
    return d


@given(st.lists(read_dicts(), min_size=1, max_size=20))
def test_decode_agrees_with_model(rows: list[dict[str, object]]) -> None:
    values = [json.dumps(r).encode() for r in rows]
    decoded = decode_reads(values)
    kept = decoded.reads[MESSAGE_INDEX].to_pylist()
    rejected = [pos for pos, _ in decoded.rejects]
    assert sorted(kept + rejected) == list(range(len(rows)))  # every message accounted for, once
    for pos in kept:
        assert isinstance(validate_one(values[pos]), PlateRead)
    for pos in rejected:
        assert isinstance(validate_one(values[pos]), str)
    for row in decoded.reads.to_pylist():  # values survive decoding unchanged
        want = PlateRead.model_validate_json(values[row.pop(MESSAGE_INDEX)]).model_dump(mode="json")
        assert row == want


def test_every_kind_of_bad_message_is_rejected_with_a_reason_and_neighbours_kept() -> None:
    bad = [
        None, b"", b"{not json", b"[1,2]", b"42", b'"text"', b"\xff\xfe", b'{"read_id": "x"}',
        json.dumps({**GOOD, "camera_country": "nl"}).encode(),
        json.dumps({**GOOD, "confidence": 1.5}).encode(),
        json.dumps({**GOOD, "ts_ms": -1}).encode(),
        json.dumps({**GOOD, "direction": "sideways"}).encode(),
        json.dumps({**GOOD, "plate_text": "x" * 300}).encode(),
        json.dumps({**GOOD, "candidates": ["A", "B", "C", "D", "E"]}).encode(),  # more than top-4
        json.dumps({**GOOD, "candidates": ["12ABC3", "x" * 300]}).encode(),
        json.dumps({**GOOD, "candidates": ["12ABC3", None]}).encode(),
        json.dumps({**GOOD, "candidates": "12ABC3"}).encode(),
        json.dumps(GOOD, indent=2).encode() + b"\n" + json.dumps(GOOD).encode(),  # two objects in one message
    ]  # fmt: skip
    values: list[bytes | None] = []
    for i, b in enumerate(bad):
        values += [json.dumps({**GOOD, "read_id": f"ok{i}"}).encode(), b]
    decoded = decode_reads(values)
    assert decoded.reads["read_id"].to_pylist() == [f"ok{i}" for i in range(len(bad))]
    assert [pos for pos, _ in decoded.rejects] == list(range(1, 2 * len(bad), 2))
    assert all(reason for _, reason in decoded.rejects)


def test_candidates_are_kept_in_order() -> None:
    values = [json.dumps({**GOOD, "candidates": ["I2ABC3", "12A8C3"]}).encode(), json.dumps(GOOD).encode()]
    decoded = decode_reads(values)
    assert decoded.reads["candidates"].to_pylist() == [["I2ABC3", "12A8C3"], None] and not decoded.rejects


def test_a_pretty_printed_valid_read_is_kept() -> None:
    decoded = decode_reads([json.dumps(GOOD, indent=2).encode(), json.dumps(GOOD).encode()])
    assert decoded.reads.num_rows == 2 and not decoded.rejects


def test_empty_batch() -> None:
    decoded = decode_reads([])
    assert decoded.reads.num_rows == 0 and decoded.rejects == []
