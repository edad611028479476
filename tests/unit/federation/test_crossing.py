"""Reads that crossed (federation/crossing.py) against a plain substring search: every non-hit read
id that occurs anywhere in a record (key, value, header name or value) is found, wherever it is
embedded (JSON, an Arrow stream, binary bytes, next to other hex digits), and nothing else is."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

import anpr_engine.federation.crossing as crossing
from anpr_engine.codec.reads import ARROW_STREAM, NDJSON, arrow_stream, encode_read, reads_to_table
from anpr_engine.federation.crossing import Crossing, Record, Search, alert_read_ids, crossed, read_ids
from anpr_simulators.traffic import Traffic, make_watchlists


def brute_force(read_ids: set[str], hit_ids: set[str], records: Sequence[Record]) -> set[str]:
    """The reference: each non-hit id looked for in each piece of each record."""
    pieces: list[bytes] = []
    for key, value, headers in records:
        pieces += [x for x in (key, value) if x is not None]
        for name, v in headers or []:
            pieces += [name.encode()] + ([v] if v is not None else [])
    return {i for i in read_ids - hit_ids if any(i.encode() in p for p in pieces)}


uuids = st.uuids().map(str)
hexish = st.text(alphabet="0123456789abcdef-", min_size=1, max_size=40)  # token characters, any length
texts = st.text(min_size=1, max_size=12)  # anything else, \x00 included: searched one by one
ids = st.one_of(uuids, uuids, hexish, texts)


@st.composite
def scene(draw: st.DrawFn) -> tuple[set[str], set[str], list[Record]]:
    """Read ids, those that hit, and records holding whole ids, parts of ids and noise, glued
    together without separators (next to hex digits, inside binary bytes)."""
    reads = draw(st.sets(ids, min_size=1, max_size=12))
    hits = draw(st.sets(st.sampled_from(sorted(reads)))) if reads else set()
    pool = sorted(reads)

    def blob() -> bytes:
        parts = []
        for _ in range(draw(st.integers(0, 5))):
            kind = draw(st.integers(0, 5))
            some = draw(st.sampled_from(pool)).encode()
            if kind == 0:
                parts.append(some)  # an id whole
            elif kind == 1:
                cut = draw(st.integers(0, len(some)))
                parts.append(some[:cut] if draw(st.booleans()) else some[cut:])  # a part of one
            elif kind == 2:
                parts.append(draw(st.text(alphabet="0123456789abcdef-", max_size=30)).encode())
            elif kind == 3:
                parts.append(str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))).encode())
            else:
                parts.append(draw(st.binary(max_size=20)))
        return b"".join(parts)

    def maybe() -> bytes | None:
        return None if draw(st.integers(0, 4)) == 0 else blob()

    records: list[Record] = []
    for _ in range(draw(st.integers(0, 8))):
        headers = [(draw(st.sampled_from(["h", "content-type", *pool[:2]])), maybe())
                   for _ in range(draw(st.integers(0, 2)))]  # fmt: skip
        records.append((maybe(), maybe(), headers if headers or draw(st.booleans()) else None))
    return reads, hits, records


@given(scene(), st.integers(1, 200), st.integers(1, 4))
def test_crossed_is_the_plain_substring_search(
    case: tuple[set[str], set[str], list[Record]], chunk_bytes: int, feeds: int
) -> None:
    reads, hits, records = case
    expected = brute_force(reads, hits, records)
    old = crossing.CHUNK_BYTES
    crossing.CHUNK_BYTES = chunk_bytes  # many small chunks: an id is found whichever chunk its record is in
    try:
        assert crossed(reads, hits, records) == expected
        search = Search(reads - hits)  # fed in several calls, as io.crossing does topic by topic
        new: list[set[str]] = [search.feed(records[i::feeds]) for i in range(feeds)]
    finally:
        crossing.CHUNK_BYTES = old
    assert search.found == expected == set().union(*new)
    assert sum(map(len, new)) == len(expected)  # each id reported once, when first found
    assert search.remaining == len(reads - hits) - len(expected)


def sim_ids(n: int) -> list[str]:
    return [s.read.read_id for s in Traffic(make_watchlists(5, 1), seed=9).take(n)]


def test_an_id_embedded_in_any_bytes_is_found() -> None:
    a, b, c, d, e, f = sim_ids(6)
    records: list[Record] = [
        (None, b"\xff\xfe\x00garbage" + a.encode() + b"\x81tail", None),  # binary, no JSON
        (b"00ab" + b.encode() + b"cdef99", None, None),  # hex digits on both sides, in a key
        (None, None, [("x", b"aaaaaaaa-bbbb-cccc-dddd-eeee" + c.encode())]),  # an id-shaped run overlapping it
        (None, b"", [(d, None)]),  # a header's name
        (None, (e + e[:20]).encode(), None),  # followed by a part of itself
    ]
    assert crossed({a, b, c, d, e, f}, set(), records) == {a, b, c, d, e}
    assert crossed({a, b, c, d, e, f}, {a, c}, records) == {b, d, e}


def test_an_id_is_found_within_one_piece_of_a_record_only() -> None:
    """Pieces are searched joined by a NUL byte: an id holding one is searched piece by piece."""
    records: list[Record] = [(b"a", b"b", [("c", b"d")]), (b"e", None, None)]
    assert crossed({"a\x00b", "c\x00d", "d\x00e", "ab", "b", "e"}, set(), records) == {"b", "e"}
    assert crossed({"a\x00b"}, set(), [(b"xa\x00by", None, None)]) == {"a\x00b"}


def test_ids_in_an_arrow_stream_and_json_lines_are_found() -> None:
    reads = [s.read for s in Traffic(make_watchlists(5, 1), seed=9).take(20)]
    arrow = arrow_stream(reads_to_table(reads[:10]))
    lines = b"\n".join(encode_read(r) for r in reads[10:15])
    records: list[Record] = [(b"GATEWAY", arrow, [("content-type", ARROW_STREAM.encode())]), (b"G", lines, None)]
    all_ids = {r.read_id for r in reads}
    assert crossed(all_ids, set(), records) == {r.read_id for r in reads[:15]}


def test_a_search_reads_nothing_more_once_every_id_is_found() -> None:
    (a,) = sim_ids(1)

    def records() -> Iterator[Record]:
        raise AssertionError("read on after every id was found")
        yield

    search = Search([a])
    assert search.feed([(None, a.encode(), None)]) == {a} and search.remaining == 0
    assert search.feed(records()) == set()


def test_an_empty_id_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        Search(["x", ""])


def test_read_ids_of_every_kind_of_reads_message() -> None:
    reads = [s.read for s in Traffic(make_watchlists(5, 1), seed=9).take(12)]
    values: list[bytes | None] = [
        encode_read(reads[0]),
        b"\n".join(encode_read(r) for r in reads[1:5]),
        arrow_stream(reads_to_table(reads[5:10])),
        b"{not json",
        b'{"read_id": "not-a-valid-read"}',
        None,
        encode_read(reads[10]),
    ]
    types = [None, NDJSON, ARROW_STREAM, None, None, None, None]
    assert read_ids(values, types) == {r.read_id for r in reads[:11]}


def test_alert_read_ids() -> None:
    values = [
        json.dumps({"alert_id": "x", "read": {"read_id": "r1"}, "entry": {"entry_id": "e"}}).encode(),
        json.dumps({"read": {"read_id": "r2"}}).encode(),
        None,
        b"not json",
        b"[1, 2]",
        json.dumps({"read": {"read_id": 3}}).encode(),
        json.dumps({"read": "r4"}).encode(),
        b"[" * 100_000,
    ]
    assert alert_read_ids(values) == {"r1", "r2"}


def test_crossing_counts() -> None:
    c = Crossing(reads=10, hits=3, crossed=frozenset({"a"}))
    assert (c.non_hits, len(c.crossed)) == (7, 1)
