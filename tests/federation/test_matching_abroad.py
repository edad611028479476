"""Matching abroad on the local federation (Benelux Police Treaty art. 13): nl lists and releases,
its exporter writes what is released to anpr.export.be, MirrorMaker copies it to be, be's engine
matches be's cameras against it and passes the hits back to nl.

- a released entry alerts in be (matched_in be, listed_by nl) and comes back to nl once;
- an entry withheld, on a covert list not released, or never released does not match in be;
- a hit on a released covert entry reaches nl's covert hits only, and no topic an operator in be reads;
- an entry withheld later stops matching in be (the time it took: FIGURES).
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from anpr_engine.codec.entries import EntryRows
from anpr_engine.config import Federation, Settings
from anpr_engine.io.watchlist_topic import WatchlistWriter
from anpr_engine.models import Alert, Category, WatchlistEntry, WatchlistList
from tests.helpers.federation import BOOT, Party, Record, Tail, produce
from tests.helpers.kafka import read_now

pytestmark = pytest.mark.federation
BIN = Path(sys.executable).parent


def _plates(n: int) -> list[str]:
    """Dutch-format plates no earlier run listed (the clusters keep their topics between runs)."""
    rnd = random.Random(uuid.uuid4().int)
    letters = "BDFGHJKLNPRSTVXZ"
    return [
        f"{rnd.choice(letters)}{rnd.choice(letters)}-{rnd.randrange(100, 1000)}-{rnd.choice(letters)}" for _ in range(n)
    ]


def _list(name: str, covert: bool = False, release_to: tuple[str, ...] = ("be",)) -> WatchlistList:
    return WatchlistList(
        record="list", list_name=name, agency="Politie Limburg", agency_country="NL", covert=covert,
        release_to=release_to, release_covert=covert and bool(release_to),
    )  # fmt: skip


def _entry(entry_id: str, plate: str, list_name: str, **kw: object) -> WatchlistEntry:
    return WatchlistEntry(
        entry_id=entry_id, plate=plate, list_name=list_name, agency="Politie Limburg", agency_country="NL",
        category=Category.STOLEN_VEHICLE, **kw,
    )  # type: ignore[arg-type]  # fmt: skip


def _alerts(records: list[Record], run: str) -> list[Alert]:
    """This run's alerts among `records` (the topics are shared with other tests, which put anything there)."""
    out = []
    for _, value, _ in records:
        if value is not None and run.encode() in value:
            out.append(Alert.model_validate_json(value))
    return out


def _pairs(records: list[Record], run: str) -> list[tuple[str, str]]:
    """(read id, entry id) of this run's alerts among `records`."""
    return [(a.read.read_id, a.entry.entry_id) for a in _alerts(records, run)]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """nl's exporter and an engine of be on a reads topic of its own; yields (run id, be's reads topic)."""
    run = uuid.uuid4().hex[:10]
    reads = f"anpr.reads.t{run}"
    exporter = Party("nl", tmp_path / "exporter.log", [str(BIN / "anpr-watchlist"), "export", "--follow"], "following")
    engine = None
    try:
        engine = Party(
            "be", tmp_path / "engine.log",
            [str(BIN / "anpr-engine"), "run", "--group-id", f"be-{run}", "--suppress-s", "0"],
            "consuming", topics__reads=reads, watchlist_interval_ms="100",
        )  # fmt: skip
        yield run, reads
    finally:
        for p in (engine, exporter):
            if p is not None:
                p.stop()


def test_released_entries_match_abroad_and_the_hits_come_back(running: tuple[str, str]) -> None:
    run, reads = running
    nl = Settings(bootstrap_servers=BOOT["nl"], federation=Federation(party="nl", partners=("be",)))
    be = Settings(bootstrap_servers=BOOT["be"], federation=Federation(party="be", partners=("nl",)))
    p_released, p_withheld, p_covert, p_covert_kept, p_kept, p_later = _plates(6)
    open_list, covert_list, covert_kept, own = f"l-{run}", f"c-{run}", f"k-{run}", f"o-{run}"
    writer = WatchlistWriter(nl)
    for record in (_list(open_list), _list(covert_list, covert=True), _list(covert_kept, covert=True, release_to=()),
                   _list(own, release_to=())):  # fmt: skip
        writer.list_record(record)
    entries = [
        _entry(f"{run}-released", p_released, open_list),
        _entry(f"{run}-withheld", p_withheld, open_list, release_to=()),
        _entry(f"{run}-covert", p_covert, covert_list),
        _entry(f"{run}-covert-kept", p_covert_kept, covert_kept),
        _entry(f"{run}-kept", p_kept, own),
        _entry(f"{run}-later", p_later, open_list),
    ]
    writer.entries(EntryRows.of(entries))

    hits_back = Tail("nl", "be.anpr.hits.nl")
    covert_back = Tail("nl", "be.anpr.hits.covert.nl")
    local = Tail("be", be.topics.alerts)
    local_covert = Tail("be", be.topics.alerts_covert)
    try:
        # the released entries reach be's engine: a read of each is sent until one hits
        probe = 0
        deadline = time.monotonic() + 90
        while not any(e == f"{run}-later" for _, e in _pairs(local.records, run)):
            assert time.monotonic() < deadline, "released entries never matched in be"
            produce("be", reads, [(b"BE-LANAKEN-1", read_now(f"{run}-probe-{probe}", p_later))])
            probe += 1
            local.poll(0.5)
        # one read of each plate, in one partition; the released one last, so once its alert is
        # back every earlier read has been matched and sent
        order = [p_withheld, p_covert, p_covert_kept, p_kept, p_released]
        produce("be", reads, [(b"BE-LANAKEN-1", read_now(f"{run}-read-{i}", p)) for i, p in enumerate(order)])
        last = (f"{run}-read-4", f"{run}-released")
        local.until(lambda r: last in _pairs(r, run), "the released entry's alert in be")
        hits_back.until(lambda r: last in _pairs(r, run), "the hit back in nl")
        covert_hit = (f"{run}-read-1", f"{run}-covert")
        covert_back.until(lambda r: covert_hit in _pairs(r, run), "the covert hit back in nl")
        for tail in (local, local_covert, hits_back, covert_back):
            tail.to_end()

        reads_of_run = [p for p in _pairs(local.records, run) if "-read-" in p[0]]
        assert reads_of_run == [last]  # nothing withheld, covert or unreleased alerts in be
        assert [p for p in _pairs(local_covert.records, run)] == []
        assert [p for p in _pairs(hits_back.records, run) if "-read-" in p[0]] == [last]  # once
        assert [p for p in _pairs(covert_back.records, run)] == [covert_hit]
        alert = next(a for a in _alerts(local.records, run) if a.read.read_id == last[0])
        assert (alert.matched_in, alert.listed_by, alert.cross_border) == ("be", "nl", True)

        # withheld now: a read of it stops alerting in be (each read followed by one of a plate
        # that still hits, in the same partition, so that an absent alert is a fact, not a delay)
        t0 = time.monotonic()
        writer.entries(EntryRows.of([entries[0].model_copy(update={"release_to": ()})]))
        i, stopped = 0, False
        while not stopped:
            assert time.monotonic() - t0 < 90, "a withheld entry still matched in be after 90 s"
            r, marker = f"{run}-after-{i}", f"{run}-marker-{i}"
            produce("be", reads, [(b"BE-LANAKEN-1", read_now(r, p_released)),
                                  (b"BE-LANAKEN-1", read_now(marker, p_later))])  # fmt: skip
            local.until(lambda recs, m=marker: any(x == m for x, _ in _pairs(recs, run)), "the marker's alert")
            stopped = not any(x == r for x, _ in _pairs(local.records, run))
            i += 1
        print(f"FIGURES withheld in nl -> no longer matched in be: {time.monotonic() - t0:.2f} s ({i} reads)")
    finally:
        for tail in (hits_back, covert_back, local, local_covert):
            tail.close()
