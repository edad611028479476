"""Builders of test data: watchlist entries and their topic records, sample watchlists and reads, and
readers of what a fake sink was sent."""

from __future__ import annotations

from anpr_engine.codec.reads import encode_read
from anpr_engine.engine.ports import Message
from anpr_engine.match.watchlist import Watchlist
from anpr_engine.models import Alert, Category, PlateRead, WatchlistEntry, entry_key
from anpr_simulators.noise import NoiseModel
from anpr_simulators.traffic import Traffic, make_watchlists
from tests.helpers.fakes import ListSink, Record

# a valid read message, as a dict
GOOD = {
    "read_id": "r1", "camera_id": "NL-THORN", "camera_country": "NL", "site": "Thorn", "lane": 0,
    "direction": "inbound", "ts_ms": 1_795_000_000_000, "plate_text": "12-ABC-3", "plate_country": "NL",
    "confidence": 0.9,
}  # fmt: skip

NOW = 1_800_000_000_000  # the clock of engines under test
HOUR = 3_600_000


def entry(i: int, plate: str, country: str | None = None, **kw: object) -> WatchlistEntry:
    fields: dict[str, object] = {"list_name": "l", "agency": "a", "agency_country": "NL", **kw}
    return WatchlistEntry(
        entry_id=f"e{i}", plate=plate, plate_country=country, category=Category.STOLEN_VEHICLE, **fields,
    )  # type: ignore[arg-type]  # fmt: skip


def list_entry(i: int, plate: str, list_name: str = "l", generation: int = 0, **kw: object) -> WatchlistEntry:
    return entry(i, plate, list_name=list_name, generation=generation, **kw)


def entry_record(e: WatchlistEntry) -> Record:
    return entry_key(e.entry_id, e.generation).encode(), e.model_dump_json().encode()


def sent_summary(sink: ListSink) -> list[tuple[str, str, bool, bool]]:
    return [
        (x.read.read_id, x.entry.entry_id, x.retro, a.covert)
        for (batch,) in sink.sent for a in batch  # type: ignore[attr-defined]
        for x in [Alert.model_validate_json(a.value)]  # type: ignore[attr-defined]
    ]  # fmt: skip


def sent_alerts(sink: ListSink) -> list[Alert]:
    return [Alert.model_validate_json(a.value) for (batch,) in sink.sent for a in batch]  # type: ignore[attr-defined]


def traffic_messages(n: int, seed: int = 3) -> tuple[list[Message], Watchlist, list]:  # type: ignore[type-arg]
    entries = make_watchlists(50, seed)
    sims = Traffic(entries, seed=seed, listed_share=0.3, noise=NoiseModel()).take(n)
    wl = Watchlist()
    wl.upsert(entries)
    msgs = [Message(encode_read(s.read), s.read.camera_id.encode(), "reads", 0, i) for i, s in enumerate(sims)]
    return msgs, wl, [(s, entries) for s in sims]


def listed_sample(n: int, seed: int) -> tuple[list[WatchlistEntry], Watchlist, PlateRead]:
    """n sample entries per country, a default Watchlist holding them, and one unlisted read to vary."""
    entries = make_watchlists(n, seed)
    wl = Watchlist()
    wl.upsert(entries)
    return entries, wl, Traffic(entries, seed=seed, listed_share=0.0).take(1)[0].read
