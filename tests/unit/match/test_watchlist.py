"""The watchlist as a live table: topic records applied while matching goes on."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.codec.reads import encode_read
from anpr_engine.engine.loop import Engine
from anpr_engine.engine.ports import Message
from anpr_engine.match.normalize import normalize_plates
from anpr_engine.match.watchlist import Watchlist
from anpr_engine.models import WatchlistEntry
from tests.helpers.builders import entry, listed_sample, sent_alerts
from tests.helpers.fakes import ListSink, ListSource, ListUpdates
from tests.helpers.reference import ref_match
from tests.helpers.strategies import national_plates

Record = tuple[bytes | None, bytes | None]


def _record(e: WatchlistEntry) -> Record:
    return e.entry_id.encode(), e.model_dump_json().encode()


def _hits(wl: Watchlist, plates: list[str]) -> set[tuple[int, str]]:
    hits = wl.match(
        normalize_plates(plates), pa.array([None] * len(plates), pa.string()), np.zeros(len(plates), np.int64)
    )
    return {(int(r), wl.entry(int(s)).entry_id) for r, s in zip(hits.read, hits.slot, strict=True)}


def test_records_upsert_tombstones_delete_and_the_last_of_a_key_wins() -> None:
    wl = Watchlist()
    assert wl.apply([_record(entry(1, "12-BD-34")), _record(entry(2, "56-FG-78")), (b"e2", None)]) == []
    assert _hits(wl, ["12BD34", "56FG78"]) == {(0, "e1")}
    wl.apply([_record(entry(1, "99-XZ-11")), (b"e1", None), _record(entry(1, "56-FG-78"))])
    assert _hits(wl, ["12BD34", "56FG78"]) == {(1, "e1")} and len(wl) == 1


def test_unusable_records_are_refused_and_leave_the_entry_as_it_was() -> None:
    wl = Watchlist()
    wl.apply([_record(entry(1, "12-BD-34"))])
    other_key = (b"e1", entry(9, "56-FG-78").model_dump_json().encode())  # its entry_id is e9
    refused = wl.apply([(b"e1", b"{not json"), (None, b"{}"), other_key, (b"e1", b'{"entry_id": "e1"}')])
    assert len(refused) == 4 and all(r.reason for r in refused)  # e1's three records and the keyless one
    refused = wl.apply([other_key])
    assert [r.key for r in refused] == ["e1"] and "not the record's key" in refused[0].reason
    assert _hits(wl, ["12BD34"]) == {(0, "e1")}


def test_the_engine_applies_records_before_it_matches_each_batch() -> None:
    _, wl, base = listed_sample(5, 21)
    new = entry(100, "34-OEU-5")
    read = base.model_copy(update={"plate_text": "34 OEU 5", "plate_country": None})
    messages = [
        [Message(encode_read(read.model_copy(update={"read_id": f"r{i}"})), b"k", "reads", 0, i)] for i in range(3)
    ]
    updates = ListUpdates([[], [_record(new)], [(b"e100", None)]])
    sink = ListSink()
    engine = Engine(wl, ListSource(messages), sink, ListSink(), updates=[updates])
    for _ in range(3):
        engine.step()
    engine.settle()
    assert [(a.read.read_id, a.entry.entry_id) for a in sent_alerts(sink)] == [("r1", "e100")]
    assert engine.stats.watchlist_records == 2 and engine.stats.watchlist_refused == 0


@given(
    st.lists(national_plates(), min_size=1, max_size=12),
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 14)), max_size=60),
)
def test_any_sequence_of_upserts_and_deletes_matches_a_dict_rebuilt_from_it(
    plates: list[tuple[str, str]], ops: list[tuple[int, int]]
) -> None:
    """op (i, j): upsert entry i with plate j (j beyond the plates: a tombstone; j == 13: a bad plate)."""
    wl = Watchlist()
    state: dict[str, WatchlistEntry] = {}
    for i, j in ops:
        key = f"e{i}"
        if j < len(plates):
            e = entry(i, plates[j][0], plates[j][1])
            wl.apply([_record(e)])
            state[key] = e
        elif j == 13:
            wl.apply([_record(entry(i, "1*"))])  # refused: the entry stays as it was
        else:
            wl.apply([(key.encode(), None)])
            state.pop(key, None)
    reads: list[tuple[str, str | None, int]] = [(p, None, 0) for p, _ in plates]
    want = {(h.read, h.entry_id) for h in ref_match(reads, list(state.values()))}
    assert len(wl) == len(state)
    assert _hits(wl, [p for p, _ in plates]) == want


def test_a_bad_record_after_a_good_one_leaves_the_good_one_whether_applied_apart_or_together() -> None:
    """Found by hand: a new instance loading the topic in one chunk kept only a key's last record,
    so a bad record after a good one unlisted an entry the running engines still held."""
    good = _record(entry(2, "56-FG-78"))
    bad = (b"e2", b'{"entry_id": "e2", "plate": "56-FG-78"}')
    apart, together = Watchlist(), Watchlist()
    apart.apply([good])
    apart.apply([bad])
    refused = together.apply([good, bad])
    assert len(refused) == 1 and refused[0].key == "e2"
    assert _hits(apart, ["56FG78"]) == _hits(together, ["56FG78"]) == {(0, "e2")}
