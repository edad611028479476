"""A partner's released entries in this party's table (federation, Benelux Police Treaty art. 13):
applied from the partner's export topic apart from this party's own records, matched as one table,
and alerted with where they matched and for whom."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from anpr_engine.codec.alerts import OutgoingAlert
from anpr_engine.codec.entries import BULK_MIN
from anpr_engine.codec.reads import encode_read
from anpr_engine.engine.loop import Engine
from anpr_engine.engine.ports import Message
from anpr_engine.engine.retro import RecentReads
from anpr_engine.io.alert_history import published_alert
from anpr_engine.io.producer import KafkaAlertSink
from anpr_engine.match.normalize import normalize_plates
from anpr_engine.match.watchlist import Watchlist
from anpr_engine.models import Alert, PlateRead, WatchlistList, entry_key, list_key
from tests.helpers.builders import GOOD, HOUR, NOW, entry_record, list_entry
from tests.helpers.fakes import ListSink, ListSource, ListUpdates

Record = tuple[bytes | None, bytes | None]
PLATES = ["12BD34", "56FG78", "99XZ11"]


def _list(name: str, generation: int = 0, covert: bool = False) -> Record:
    rec = WatchlistList(
        record="list", list_name=name, agency="a", agency_country="BE", generation=generation, covert=covert
    )
    return list_key(name).encode(), rec.model_dump_json().encode()


def _hits(wl: Watchlist, plates: list[str]) -> set[tuple[int, str | None, str, bool]]:
    """(read, listing partner or None, entry id as listed, covert) of each hit."""
    hits = wl.match(
        normalize_plates(plates), pa.array([None] * len(plates), pa.string()), np.zeros(len(plates), np.int64)
    )
    out = set()
    for r, s in zip(hits.read.tolist(), hits.slot.tolist(), strict=True):
        e = wl.listed(s)
        out.add((r, e.partner, wl.entry(s).entry_id, e.covert))
    return out


# A small universe of records, so that ids, keys and list names of both parties collide often.
_ids = st.sampled_from(["e1", "e2", "e3"])
_lists = st.sampled_from(["l", "m"])
_entry = st.builds(
    lambda i, plate, name, gen: entry_record(list_entry(int(i[1:]), plate, name, gen)),
    _ids, st.sampled_from(PLATES), _lists, st.integers(0, 2),
)  # fmt: skip
_tombstone = st.builds(lambda i, gen: (entry_key(i, gen).encode(), None), _ids, st.integers(0, 2))
_list_record = st.builds(_list, _lists, st.integers(0, 2), st.booleans())
_list_tombstone = st.builds(lambda name: (list_key(name).encode(), None), _lists)
_records = st.lists(
    st.tuples(st.sampled_from(["", "be"]), st.one_of(_entry, _tombstone, _list_record, _list_tombstone)),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(_records, st.integers(1, 5))
def test_one_table_of_both_parties_matches_as_two_tables_apart(records: list[tuple[str, Record]], chunk: int) -> None:
    """Whatever the records of this party and of a partner and however they interleave, the one
    table hits what a table of this party's records and a table of the partner's records hit apart:
    no key, list name or generation of one touches the other's."""
    together = Watchlist(party="nl")
    apart = {"": Watchlist(), "be": Watchlist()}
    i = 0
    while i < len(records):
        party = records[i][0]
        run = [rec for _, rec in records[i : i + chunk]]
        parties = {p for p, _ in records[i : i + chunk]}
        if parties != {party}:  # an apply takes one topic's records: cut the run at the first other party
            run = [rec for p, rec in records[i:] if p == party][:1]
        together.apply(run, party)
        apart[party].apply(run)
        i += len(run)
    want = {(r, None if p == "" else p, e, c) for p, wl in apart.items() for r, _, e, c in _hits(wl, PLATES)}
    assert _hits(together, PLATES) == want


def _read(read_id: str, plate: str, ts_ms: int = NOW) -> Message:
    read = PlateRead.model_validate({**GOOD, "read_id": read_id, "plate_text": plate, "ts_ms": ts_ms})
    return Message(encode_read(read), b"k", "reads", 0, 0)


def _alerts(sink: ListSink) -> list[OutgoingAlert]:
    return [a for (batch,) in sink.sent for a in batch]  # type: ignore[attr-defined]


def test_a_partners_entry_alerts_with_where_it_matched_and_for_whom() -> None:
    own, theirs = list_entry(1, "12-BD-34"), list_entry(1, "12-BD-34", agency_country="BE")  # the same id and list
    sink = ListSink()
    engine = Engine(
        Watchlist(party="nl"), ListSource([[_read("r1", "12-BD-34")]]), sink, ListSink(),
        updates=[ListUpdates([[entry_record(own)]]), ListUpdates([[entry_record(theirs)]], party="be")],
    )  # fmt: skip
    engine.step()
    alerts = {a.partner: a for a in _alerts(sink)}
    assert set(alerts) == {None, "be"}
    mine, abroad = (Alert.model_validate_json(alerts[p].value) for p in (None, "be"))
    assert (mine.matched_in, mine.listed_by) == ("nl", "nl")
    assert (abroad.matched_in, abroad.listed_by) == ("nl", "be")
    assert abroad.entry.entry_id == "e1" and abroad.cross_border  # the entry as its owner listed it
    assert mine.alert_id != abroad.alert_id


def test_outside_a_federation_an_alert_names_no_party() -> None:
    sink = ListSink()
    wl = Watchlist()
    wl.upsert([list_entry(1, "12-BD-34")])
    Engine(wl, ListSource([[_read("r1", "12-BD-34")]]), sink, ListSink()).step()
    (a,) = _alerts(sink)
    alert = Alert.model_validate_json(a.value)
    assert (alert.matched_in, alert.listed_by, a.partner) == (None, None, None)


def test_a_partners_withdrawn_entry_stops_matching_and_ours_under_its_key_stays() -> None:
    wl = Watchlist(party="nl")
    wl.apply([entry_record(list_entry(1, "12-BD-34"))])
    wl.apply([entry_record(list_entry(1, "56-FG-78"))], "be")
    assert _hits(wl, PLATES) == {(0, None, "e1", False), (1, "be", "e1", False)}
    wl.apply([(b"e1", None)], "be")  # withheld by be: its tombstone crosses
    assert _hits(wl, PLATES) == {(0, None, "e1", False)}


def test_a_partners_replace_switches_only_its_own_list() -> None:
    wl = Watchlist(party="nl")
    wl.apply([entry_record(list_entry(1, "12-BD-34", "l", 0))])
    wl.apply([entry_record(list_entry(2, "56-FG-78", "l", 0))], "be")
    wl.apply([entry_record(list_entry(3, "99-XZ-11", "l", 1)), _list("l", 1), (b"e2", None)], "be")
    assert _hits(wl, PLATES) == {(0, None, "e1", False), (2, "be", "e3", False)}


def test_a_hit_on_a_partners_covert_entry_goes_back_to_it_only() -> None:
    sent: list[str] = []

    class Out:
        def produce(self, topic: str, value: bytes | None, key: bytes | None = None, headers: object = None) -> None:
            sent.append(topic)

        def flush(self) -> float:
            return 0.0

    sink = KafkaAlertSink(Out(), "alerts", "alerts.covert", lambda p, covert: f"hits.{'covert.' if covert else ''}{p}")
    wl = Watchlist(party="nl")
    wl.apply([_list("c", covert=True), entry_record(list_entry(1, "12-BD-34", "c"))], "be")
    wl.apply([entry_record(list_entry(2, "56-FG-78"))], "be")
    wl.apply([_list("c", covert=True), entry_record(list_entry(3, "99-XZ-11", "c"))])
    wl.apply([entry_record(list_entry(4, "99-XZ-11"))])
    engine_sink = ListSink()
    reads = [_read(f"r{i}", p) for i, p in enumerate(["12-BD-34", "56-FG-78", "99-XZ-11"])]
    Engine(wl, ListSource([reads]), engine_sink, ListSink()).step()
    for a in sorted(_alerts(engine_sink), key=lambda a: a.entry_id):
        sink.send([a])
    # be||e1 (be's covert list), be||e2, e3 (our covert list), e4
    assert sent == ["hits.covert.be", "hits.be", "alerts", "alerts.covert", "alerts"]


def test_a_partner_entry_released_after_the_read_passed_hits_retro_for_the_partner() -> None:
    sink = ListSink()
    updates = ListUpdates([[], [entry_record(list_entry(1, "12-BD-34"))]], party="be")
    engine = Engine(
        Watchlist(party="nl"), ListSource([[_read("r1", "12-BD-34", NOW - HOUR // 2)], []]), sink, ListSink(),
        clock_ms=lambda: NOW, updates=[updates], recent=RecentReads(HOUR, 1000),
    )  # fmt: skip
    engine.step()
    engine.step()
    (a,) = _alerts(sink)
    alert = Alert.model_validate_json(a.value)
    assert a.retro and a.partner == "be" and alert.listed_by == "be"


def test_published_alerts_of_a_partners_entry_name_it_as_the_table_does() -> None:
    """A restarted engine rebuilds repeat suppression from the alerts it published: a partner's entry
    must come back under the id the table gives it, or its next hit would not count as a repeat."""
    sink = ListSink()
    wl = Watchlist(party="nl")
    wl.apply([entry_record(list_entry(1, "12-BD-34"))], "be")
    Engine(wl, ListSource([[_read("r1", "12-BD-34")]]), sink, ListSink()).step()
    (a,) = _alerts(sink)
    assert published_alert(a.value) == (a.entry_id, a.site, a.ts_ms, a.alert_id) and a.entry_id == "be||e1"


def test_hostile_records_on_a_partners_export_are_refused_and_change_nothing() -> None:
    """What MirrorMaker copies is whatever the partner's topic holds: records that are no entry or
    list, under another entry's key, a list name with the separator, or JSON of any type."""
    wl = Watchlist(party="nl")
    wl.apply([entry_record(list_entry(1, "12-BD-34"))], "be")
    good_json = list_entry(2, "56-FG-78").model_dump_json().encode()
    hostile: list[Record] = [
        (b"e1", b"not json"), (b"e1", b"[]"), (b"e1", b"null"), (b"e1", b'{"entry_id": 1e999}'),
        (b"e9", good_json),  # e2's entry under e9's key
        (None, good_json),
        (b"e3", list_entry(3, "99-XZ-11", "x").model_dump_json().replace('"x"', '"a||b"').encode()),  # the separator
        (b"list|a||b", b'{"record": "list", "list_name": "a||b", "agency": "a", "agency_country": "BE"}'),
        (b"\xff\xfe", b"{}"),
    ]  # fmt: skip
    refused = wl.apply(hostile, "be")
    assert len(refused) == len(hostile)
    assert _hits(wl, PLATES) == {(0, "be", "e1", False)}


def test_a_list_name_with_the_separator_is_refused_in_bulk_too() -> None:
    """Past BULK_MIN records, entries are decoded by the numba parser and vouched for by column
    checks: those must refuse `||` in a list name as the model does."""
    records = [entry_record(list_entry(i, PLATES[i % 3], "x")) for i in range(BULK_MIN + 10)]
    key, value = records[5]
    records[5] = (key, value.replace(b'"x"', b'"a||b"'))  # type: ignore[union-attr]
    refused = Watchlist().apply(records)
    assert [r.key for r in refused] == ["e5"]
