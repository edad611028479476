"""Lists as records on the watchlist topic: generations and whole-list replace, covert lists, and
retro-hits on the recent reads when an entry becomes matchable."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.codec.reads import encode_read
from anpr_engine.engine.loop import Engine
from anpr_engine.engine.ports import Message
from anpr_engine.engine.retro import RecentReads
from anpr_engine.match.normalize import normalize_plates
from anpr_engine.match.watchlist import Watchlist
from anpr_engine.models import WatchlistEntry, WatchlistList, entry_key, list_key
from tests.helpers.builders import HOUR, NOW, entry_record, list_entry, listed_sample, sent_summary
from tests.helpers.fakes import ListSink, ListSource, ListUpdates
from tests.helpers.reference import ref_match
from tests.helpers.strategies import national_plates

Record = tuple[bytes | None, bytes | None]


def _list(name: str, generation: int = 0, covert: bool = False) -> Record:
    rec = WatchlistList(record="list", list_name=name, agency="a", agency_country="BE", generation=generation,
                        covert=covert)  # fmt: skip
    return list_key(name).encode(), rec.model_dump_json().encode()


def _hits(wl: Watchlist, plates: list[str]) -> set[tuple[int, str]]:
    hits = wl.match(
        normalize_plates(plates), pa.array([None] * len(plates), pa.string()), np.zeros(len(plates), np.int64)
    )
    return {(int(r), wl.entry(int(s)).entry_id) for r, s in zip(hits.read, hits.slot, strict=True)}


def _replace(name: str, old: list[WatchlistEntry], new: list[WatchlistEntry], generation: int) -> list[Record]:
    """The records of a whole-list replace, in the order `anpr-watchlist replace` publishes them."""
    fresh = [entry_record(e.model_copy(update={"list_name": name, "generation": generation})) for e in new]
    gone = [(entry_key(e.entry_id, e.generation).encode(), None) for e in old]
    return [*fresh, _list(name, generation), *gone]


def test_a_replace_is_never_seen_mixed_or_empty_at_any_point_of_it() -> None:
    old = [list_entry(1, "12-BD-34"), list_entry(2, "56-FG-78")]
    new = [list_entry(2, "56-FG-78"), list_entry(3, "99-XZ-11")]  # e2 stays, e1 goes, e3 comes
    plates = ["12BD34", "56FG78", "99XZ11"]
    records = _replace("l", old, new, 1)
    for cut in range(len(records) + 1):  # the engine applies any prefix (a crash, a restart) and matches
        wl = Watchlist()
        wl.apply([entry_record(e) for e in old])
        wl.apply(records[:cut])
        switched = cut > len(new)
        want = {(1, "e2"), (2, "e3")} if switched else {(0, "e1"), (1, "e2")}
        assert _hits(wl, plates) == want, cut
    assert len(wl) == 2


def test_a_list_record_that_does_not_fit_its_key_is_refused_and_the_one_before_stays() -> None:
    wl = Watchlist()
    key, covert = _list("l", covert=True)
    wl.apply([(key, covert), (key, b"[1, 2]")])  # a bad record after a good one, in one chunk
    assert wl.lists.record("l") is not None and bool(wl.lists.covert[wl.lists.number("l")])


def test_a_list_record_that_does_not_fit_its_key_is_refused() -> None:
    wl = Watchlist()
    _, value = _list("other", 3)
    refused = wl.apply([(list_key("l").encode(), value), (list_key("l").encode() + b"x", b"{}")])
    assert len(refused) == 2 and "not the record's key" in refused[0].reason
    wl.apply([entry_record(list_entry(1, "12-BD-34"))])
    assert _hits(wl, ["12BD34"]) == {(0, "e1")}  # the list stayed at generation 0


def test_entry_ids_with_the_key_separator_are_refused() -> None:
    wl = Watchlist()
    value = json.dumps({**json.loads(list_entry(1, "12-BD-34").model_dump_json()), "entry_id": "e|1"}).encode()
    refused = wl.apply([(b"e|1", value)] * 1 + [entry_record(list_entry(i, "12-BD-34")) for i in range(2, 80)])
    assert [r.key for r in refused] == ["e|1"] and len(wl) == 78  # decoded in bulk, the model refuses it


Op = tuple[str, int, int]
ops = st.lists(
    st.one_of(
        st.tuples(st.just("up"), st.integers(0, 7), st.integers(0, 8)),
        st.tuples(st.just("del"), st.integers(0, 7), st.just(0)),
        st.tuples(st.just("replace"), st.integers(0, 1), st.integers(0, 255)),
    ),
    max_size=25,
)


@given(st.lists(national_plates(), min_size=1, max_size=9), ops, st.randoms(use_true_random=False))
def test_any_sequence_of_upserts_deletes_and_replaces_matches_a_dict_rebuilt_from_it(
    plates: list[tuple[str, str]], sequence: list[Op], rnd: object
) -> None:
    """up (i, j): entry i on list l<i%2> with plate j (beyond the plates: a bad plate) at its list's
    generation; del i; replace (list, mask): the list becomes the entries of the mask's bits, the
    replace cut short at a random record when it is the last op (a crash mid-replace)."""
    import random

    assert isinstance(rnd, random.Random)
    wl = Watchlist()
    records: dict[bytes, bytes] = {}  # the reference: the topic as a compacted dict
    generation = {"l0": 0, "l1": 0}
    current: dict[str, WatchlistEntry] = {}  # key -> entry, as published

    def publish(batch: list[Record]) -> None:
        wl.apply(batch)
        for k, v in batch:
            assert k is not None
            if v is None:
                records.pop(k, None)
            elif b'"plate":"1*"' not in v:  # a bad plate is refused: the key keeps its entry
                records[k] = v

    for n, (op, i, j) in enumerate(sequence):
        name = f"l{i % 2}"
        if op == "up":
            plate = plates[j][0] if j < len(plates) else "1*"
            e = list_entry(i, plate, name, generation[name])
            key = entry_key(e.entry_id, e.generation)
            if j < len(plates):
                current[key] = e
            publish([entry_record(e)])
        elif op == "del":
            keys = [k for k, e in current.items() if e.entry_id == f"e{i}"]
            for k in keys:
                del current[k]
            publish([(k.encode(), None) for k in keys] or [(f"e{i}".encode(), None)])
        else:
            name = f"l{i}"
            old = [e for e in current.values() if e.list_name == name]
            gen = max([generation[name], *(e.generation for e in old)]) + 1
            new = [list_entry(k, plates[k % len(plates)][0], name, gen) for k in range(8) if j >> k & 1]
            batch = _replace(name, old, new, gen)
            if n == len(sequence) - 1:
                batch = batch[: rnd.randint(0, len(batch))]
            for e in new:
                current[entry_key(e.entry_id, gen)] = e
            switched = any(k == list_key(name).encode() for k, _ in batch)
            if switched:
                generation[name] = gen
            for k, v in batch:
                if v is None:
                    current.pop(k.decode(), None)  # type: ignore[union-attr]
            publish(batch)
    entries = [WatchlistEntry.model_validate_json(v) for k, v in records.items() if not k.startswith(b"list|")]
    active = [e for e in entries if e.generation == generation[e.list_name]]
    reads: list[tuple[str, str | None, int]] = [(p, None, 0) for p, _ in plates]
    want = {(h.read, h.entry_id) for h in ref_match(reads, active)}
    assert _hits(wl, [p for p, _ in plates]) == want


def _engine(
    wl: Watchlist, reads: list[tuple[str, str, int]], updates: list[list[Record]], window_ms: int = HOUR
) -> tuple[Engine, ListSink]:
    """An engine over one batch per read (read id, plate, ts), the updates applied one round per step."""
    _, _, base = listed_sample(1, 5)
    batches = [
        [Message(encode_read(base.model_copy(update={"read_id": r, "plate_text": p, "plate_country": None,
                                                     "ts_ms": ts})), b"k", "reads", 0, n)]
        for n, (r, p, ts) in enumerate(reads)
    ]  # fmt: skip
    sink = ListSink()
    engine = Engine(wl, ListSource(batches), sink, ListSink(), clock_ms=lambda: NOW, updates=[ListUpdates(updates)],
                    recent=RecentReads(window_ms, 1000))  # fmt: skip
    return engine, sink


def test_an_entry_listed_now_alerts_retro_on_reads_inside_the_window_only() -> None:
    wl = Watchlist()
    reads = [("old", "12BD34", NOW - 2 * HOUR), ("recent", "12BD34", NOW - 600_000), ("other", "56FG78", NOW - 1)]
    e1 = list_entry(1, "12-BD-34")
    engine, sink = _engine(wl, [*reads, ("live", "12BD34", NOW)], [[], [], [], [entry_record(e1)]])
    for _ in range(4):
        engine.step()
    engine.settle()
    assert sent_summary(sink) == [("recent", "e1", True, False), ("live", "e1", False, False)]
    assert engine.stats.retro == 1


def test_an_extended_validity_alerts_retro_only_on_reads_it_did_not_cover() -> None:
    wl = Watchlist()
    first = list_entry(1, "12-BD-34", valid_from_ms=NOW - 1_000_000)
    wl.apply([entry_record(first)])
    earlier = first.model_copy(update={"valid_from_ms": NOW - 3_000_000})
    reads = [("a", "12BD34", NOW - 2_000_000), ("b", "12BD34", NOW - 500_000), ("c", "99XZ11", NOW)]
    engine, sink = _engine(wl, reads, [[], [], [entry_record(earlier)]])
    for _ in range(3):
        engine.step()
    engine.settle()
    assert sent_summary(sink) == [("b", "e1", False, False), ("a", "e1", True, False)]


def test_a_replace_alerts_retro_on_the_entries_it_adds_and_covert_hits_are_marked() -> None:
    wl = Watchlist()
    wl.apply([_list("l", covert=True), entry_record(list_entry(1, "12-BD-34"))])
    reads = [("a", "12BD34", NOW - 1000), ("b", "99XZ11", NOW - 900), ("c", "55KL12", NOW)]
    replace = _replace("l", [list_entry(1, "12-BD-34")], [list_entry(1, "12-BD-34"), list_entry(2, "99-XZ-11")], 1)
    covert = [(k, v.replace(b'"covert":false', b'"covert":true') if v and k == list_key("l").encode() else v)
              for k, v in replace]  # fmt: skip
    engine, sink = _engine(wl, reads, [[], [], covert])
    for _ in range(3):
        engine.step()
    engine.settle()
    assert sent_summary(sink) == [("a", "e1", False, True), ("b", "e2", True, True)]  # e1 was listed already: no retro


def test_no_retro_hits_without_a_window() -> None:
    wl = Watchlist()
    engine, sink = _engine(wl, [("a", "12BD34", NOW - 1000), ("b", "99XZ11", NOW)],
                           [[], [entry_record(list_entry(1, "12-BD-34"))]], window_ms=0)  # fmt: skip
    for _ in range(2):
        engine.step()
    engine.settle()
    assert sent_summary(sink) == []


def test_retro_alerts_of_an_update_applied_while_no_reads_come_are_sent_once() -> None:
    wl = Watchlist()
    engine, sink = _engine(wl, [("a", "12BD34", NOW - 1000)], [[], [], [entry_record(list_entry(1, "12-BD-34"))]])
    for _ in range(3):  # the third step finds no batch: the retro alert goes out on its own
        engine.step()
    assert sent_summary(sink) == [("a", "e1", True, False)] and engine.stats.retro == 1
