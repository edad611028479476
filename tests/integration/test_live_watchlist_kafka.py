"""The watchlist topic followed live, on the real broker: entries published while the engine runs
hit the next read, tombstones stop hits, expired entries never hit, and an instance started later
holds the same entries as the running one."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from anpr_engine.config import Settings
from anpr_engine.models import Category, WatchlistEntry
from tests.helpers.kafka import Engine, produce, read_now, wait, within

pytestmark = pytest.mark.integration


def _entry(entry_id: str, plate: str, **kw: object) -> WatchlistEntry:
    return WatchlistEntry(entry_id=entry_id, plate=plate, list_name="live", agency="Politie Limburg",
                          agency_country="NL", category=Category.STOLEN_VEHICLE, **kw)  # type: ignore[arg-type]  # fmt: skip


def _until_alert(s: Settings, engine: Engine, plate: str, entry_id: str, tag: str, before: str | None = None) -> int:
    """Send reads of `plate` (each after a read of `before`, same key: ordered) until one alerts on
    entry_id; returns that round."""
    for k in range(30):
        items = [(b"cam", read_now(f"{tag}-{k}", plate))]
        if before is not None:
            items.insert(0, (b"cam", read_now(f"{tag}-before-{k}", before)))
        produce(s, s.topics.reads, items)
        if within(lambda read_id=f"{tag}-{k}": (read_id, entry_id) in engine.alerts(s), 2):  # type: ignore[misc]
            return k
    raise AssertionError(f"no alert on {entry_id} for reads of {plate}")


def test_entries_change_while_the_engine_runs(settings: Settings, engines: list[Engine], tmp_path: Path) -> None:
    s = settings
    now = int(time.time() * 1000)
    a = _entry("a", "12-BD-34")
    expired = _entry("x", "56-FG-78", valid_until_ms=now - 3_600_000)
    produce(s, s.topics.watchlist, [(e.entry_id.encode(), e.model_dump_json().encode()) for e in (a, expired)])
    first = Engine(s, s.topics.alerts, s.group_id, tmp_path / "first.log")
    engines.append(first)

    produce(s, s.topics.reads, [(b"cam", read_now("r-expired", "56 FG 78")), (b"cam", read_now("r-a", "12 BD 34"))])
    wait(lambda: ("r-a", "a") in first.alerts(s), "no alert on a listed plate")

    b = _entry("b", "34-OEU-5")  # published while the engine runs
    produce(s, s.topics.watchlist, [(b"b", b.model_dump_json().encode())])
    _until_alert(s, first, "34 oeu 5", "b", "r-b")

    marker = _entry("m", "77-HJ-88")
    produce(s, s.topics.watchlist, [(b"a", None), (b"m", marker.model_dump_json().encode())])
    k = _until_alert(s, first, "77 HJ 88", "m", "r-m", before="12 BD 34")
    assert (f"r-m-before-{k}", "a") not in first.alerts(s)  # the tombstone came first: no hit

    second = Engine(s, f"{s.topics.alerts}.second", f"{s.group_id}.second", tmp_path / "second.log")
    engines.append(second)
    assert "watchlist 3 entries" in second.log.read_text()  # b, m and the expired x; a is gone
    final = [(b"cam", read_now(f"final-{p}", p)) for p in ("12 BD 34", "56 FG 78", "34 OEU 5", "77 HJ 88")]
    produce(s, s.topics.reads, final)
    want = {("final-34 OEU 5", "b"), ("final-77 HJ 88", "m")}
    for engine in (first, second):
        wait(lambda engine=engine: want <= engine.alerts(s), "the final reads did not alert")  # type: ignore[misc]
    first.stop()
    second.stop()
    for engine in (first, second):
        assert {x for x in engine.alerts(s) if x[0].startswith("final-")} == want
        assert engine.proc.returncode == 0
    assert not any(entry_id == "x" for _, entry_id in first.alerts(s))  # expired: never
