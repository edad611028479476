"""Wildcard entries (a witness's partial plate) against a regular-expression reference."""

import re

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.codec.reads import encode_read
from anpr_engine.engine.loop import Engine
from anpr_engine.engine.ports import Message
from anpr_engine.kernels.wildcards import glob_pairs
from anpr_engine.match.normalize import normalize_one, normalize_plates
from anpr_engine.match.watchlist import Watchlist
from tests.helpers.builders import entry, listed_sample, sent_alerts
from tests.helpers.fakes import ListSink, ListSource

chars = st.text(alphabet="AB12", max_size=5)


@st.composite
def patterns(draw: st.DrawFn) -> str:
    parts = [draw(chars) for _ in range(draw(st.integers(2, 3)))]
    return "*".join(parts)


def _ref(pattern: str, plate: str) -> bool:
    regex = ".*".join(re.escape(normalize_one(p)) for p in pattern.split("*"))
    return bool(plate) and re.fullmatch(regex, plate) is not None


@given(st.lists(patterns(), min_size=1, max_size=8), st.lists(st.text(alphabet="AB12-", max_size=10), max_size=30))
def test_wildcard_matching_equals_reference(pats: list[str], reads: list[str]) -> None:
    wl = Watchlist()
    rejected = wl.upsert([entry(i, p) for i, p in enumerate(pats)])
    refused = {r.key for r in rejected}
    for i, p in enumerate(pats):  # refused exactly when a pattern names too little, repeats a star or is too long
        assert (f"e{i}" in refused) == (len(p) - p.count("*") < 3 or "**" in p or len(p) > 12)
    hits = wl.match(normalize_plates(reads), pa.nulls(len(reads), pa.string()), np.zeros(len(reads), np.int64))
    got = {(int(r), wl.entry(int(s)).entry_id) for r, s in zip(hits.read, hits.slot, strict=True)}
    want = {
        (r, f"e{i}")
        for r, text in enumerate(reads)
        for i, p in enumerate(pats)
        if f"e{i}" not in refused and _ref(p, normalize_one(text))
    }
    assert got == want


@given(st.text(alphabet="AB1", max_size=8), st.text(alphabet="AB1*", max_size=8))
def test_glob_kernel_equals_regex(text: str, pattern: str) -> None:
    plates = normalize_plates([text, pattern.replace("*", "")])
    codes = np.zeros((1, 12), np.uint8)
    for k, ch in enumerate(pattern):
        codes[0, k] = 37 if ch == "*" else normalize_plates([ch]).codes[0, 0]
    ok = np.empty(1, bool)
    glob_pairs(plates.codes, plates.lengths, np.array([0]), codes, np.array([len(pattern)]), np.array([0]), ok)
    assert bool(ok[0]) == (re.fullmatch(pattern.replace("*", ".*"), text) is not None)


def test_wildcard_alerts_and_refusals() -> None:
    _, _, base = listed_sample(3, 14)
    wl = Watchlist()
    refused = wl.upsert([
        entry(1, "12-AB*"), entry(2, "*"), entry(3, "1*2*3*4"), entry(4, "A\x00*BC"), entry(5, "*XYZ*"),
    ])  # fmt: skip
    assert [r.key for r in refused] == ["e2", "e3", "e4"] and all(r.reason for r in refused)
    reads = [base.model_copy(update={"read_id": f"w{i}", "plate_text": t, "plate_country": None})
             for i, t in enumerate(["12-ABC-3", "99-XYZ-1", "13-ABC-3"])]  # fmt: skip
    sink = ListSink()
    Engine(wl, ListSource([[Message(encode_read(r), offset=i) for i, r in enumerate(reads)]]), sink, ListSink()).step()
    got = [(a.read.read_id, a.entry.entry_id, a.match.kind.value, a.match.plate_listed) for a in sent_alerts(sink)]
    assert got == [("w0", "e1", "wildcard", "12AB*"), ("w1", "e5", "wildcard", "*XYZ*")]
    assert 0 < sent_alerts(sink)[0].match.score < 1
    assert wl.delete("e1")
    assert len(wl.match(normalize_plates(["12ABC3"]), pa.nulls(1, pa.string()), np.zeros(1, np.int64))) == 0
