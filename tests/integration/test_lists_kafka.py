"""Lists on the real broker: a whole-list replace seen by engines matching all along (one of them
restarted halfway through it), covert hits on the covert topic only, and retro-hits."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from anpr_engine.codec.entries import EntryRows
from anpr_engine.codec.reads import NDJSON
from anpr_engine.config import Settings
from anpr_engine.io.producer import AckedProducer, new_producer
from anpr_engine.io.watchlist_topic import WatchlistWriter, next_generation, replace_list, topic_state
from anpr_engine.models import Category, WatchlistEntry, WatchlistList
from tests.helpers.kafka import BIN, Engine, cli_args, read_now, topic_values, wait, within

pytestmark = pytest.mark.integration

OLD = {"e1": "12-BD-34", "e2": "56-FG-78"}
NEW = {"e2": "56-FG-78", "e3": "99-XZ-11"}  # e1 goes, e2 stays, e3 comes


def _entry(entry_id: str, plate: str, list_name: str = "nightly") -> WatchlistEntry:
    return WatchlistEntry(entry_id=entry_id, plate=plate, list_name=list_name, agency="Federale Politie",
                          agency_country="BE", category=Category.STOLEN_VEHICLE)  # fmt: skip


def _list(name: str, covert: bool = False) -> WatchlistList:
    return WatchlistList(record="list", list_name=name, agency="Federale Politie", agency_country="BE", covert=covert)


class Traffic(threading.Thread):
    """Sends one batched message after another, each with a read of every plate of OLD and NEW."""

    def __init__(self, s: Settings) -> None:
        super().__init__(daemon=True)
        self.s = s
        self.sent = 0
        self.halt = threading.Event()

    def run(self) -> None:
        out = AckedProducer(new_producer(self.s))
        plates = sorted(set(OLD.values()) | set(NEW.values()))
        while not self.halt.is_set():
            value = b"\n".join(read_now(f"m{self.sent}-{p}", p) for p in plates)
            out.producer.produce(self.s.topics.reads, value, b"gw", headers=[("content-type", NDJSON.encode())])
            out.flush()
            self.sent += 1
            time.sleep(0.02)


def _hits_per_message(s: Settings, topic: str) -> dict[str, set[tuple[str, int]]]:
    """(entry id, generation) hit by the reads of each batched message as they were matched (retro
    alerts, on reads that passed before the replace, left out)."""
    out: dict[str, set[tuple[str, int]]] = {}
    for a in filter(lambda a: not a["retro"], map(json.loads, topic_values(s, topic))):
        out.setdefault(a["read"]["read_id"].split("-")[0], set()).add(
            (a["entry"]["entry_id"], a["entry"]["generation"])
        )
    return out


def test_a_replace_is_never_seen_mixed_even_across_a_restart(
    settings: Settings,
    engines: list[Engine],
    tmp_path: Path,
) -> None:
    s = settings
    writer = WatchlistWriter(s)
    writer.list_record(_list("nightly"))
    writer.entries(EntryRows.of([_entry(i, p) for i, p in OLD.items()]))
    steady = Engine(s, s.topics.alerts, s.group_id, tmp_path / "steady.log")
    engines.append(steady)
    restarted = Engine(s, f"{s.topics.alerts}.r1", f"{s.group_id}.r", tmp_path / "r1.log")
    engines.append(restarted)
    traffic = Traffic(s)
    traffic.start()
    wait(lambda: traffic.sent > 20, "no traffic")

    def after(step: str) -> None:
        nonlocal restarted
        if step == "entries":  # the new generation is on the topic, not yet switched to: restart here
            restarted.proc.kill()
            restarted.proc.wait()
            # the same group, its own alerts topic: what it redelivers of r1's uncommitted batches is told apart
            restarted = Engine(s, f"{s.topics.alerts}.r2", f"{s.group_id}.r", tmp_path / "r2.log")
            engines.append(restarted)
            wait(lambda: topic_values(s, f"{s.topics.alerts}.r2") != [], "the restarted engine matches nothing")

    state = topic_state(s)
    record = _list("nightly").model_copy(update={"generation": next_generation(state, "nightly")})
    rows = EntryRows.of([_entry(i, p).model_copy(update={"generation": record.generation}) for i, p in NEW.items()])
    assert (record.generation, replace_list(writer, state, record, rows, after)) == (1, 2)
    sent = traffic.sent
    wait(lambda: traffic.sent > sent + 30, "no traffic after the replace")
    traffic.halt.set()
    traffic.join()
    old = {(i, 0) for i in OLD}
    new = {(i, 1) for i in NEW}
    for topic in (s.topics.alerts, f"{s.topics.alerts}.r2"):
        wait(lambda topic=topic: f"m{traffic.sent - 1}" in _hits_per_message(s, topic), "last message not matched")  # type: ignore[misc]
        seen = _hits_per_message(s, topic)
        assert all(hits in (old, new) for hits in seen.values()), {m: h for m, h in seen.items() if h not in (old, new)}
        assert old in seen.values() and new in seen.values()
    assert all(hits == old for hits in _hits_per_message(s, f"{s.topics.alerts}.r1").values())
    steady.stop()
    restarted.stop()
    assert "watchlist 4 entries" in (tmp_path / "r2.log").read_text()  # both generations, the new one inactive


def test_covert_hits_go_to_the_covert_topic_only_and_retro_hits_are_flagged(
    settings: Settings,
    engines: list[Engine],
    tmp_path: Path,
) -> None:
    s = settings
    writer = WatchlistWriter(s)
    writer.list_record(_list("covert-ops", covert=True))
    writer.entries(EntryRows.of([_entry("c1", "12-BD-34", "covert-ops"), _entry("o1", "56-FG-78", "open")]))
    engine = Engine(s, s.topics.alerts, s.group_id, tmp_path / "engine.log")
    engines.append(engine)
    out = AckedProducer(new_producer(s))
    now = int(time.time() * 1000)
    earlier = [
        json.dumps({**json.loads(read_now(read_id, "99 XZ 11")), "ts_ms": now - ago}).encode()
        for read_id, ago in (("passed-10min-ago", 600_000), ("passed-2h-ago", 7_200_000))
    ]
    for value in [read_now("r-covert", "12 BD 34"), read_now("r-open", "56 FG 78"), *earlier]:
        out.produce(s.topics.reads, value, b"c")
    out.flush()
    wait(lambda: len(topic_values(s, s.topics.alerts)) == 1, "no open alert")
    # listed now: the read of 10 minutes ago alerts as a retro-hit, the one of 2 hours ago (outside the window) not
    done = subprocess.run(
        [str(BIN / "anpr-watchlist"), "add", "--plate", "99-XZ-11", "--list-name", "open", "--agency", "Politie",
         "--agency-country", "NL", "--category", "wanted_person", "--entry-id", "late", *cli_args(s)[:2],
         "--watchlist-topic", s.topics.watchlist],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    wait(lambda: len(topic_values(s, s.topics.alerts)) >= 2, "no retro alert")
    assert not within(lambda: len(topic_values(s, s.topics.alerts)) > 2, 3)
    engine.stop()
    general = [json.loads(v) for v in topic_values(s, s.topics.alerts)]
    covert = [json.loads(v) for v in topic_values(s, s.topics.alerts_covert)]
    assert [(a["read"]["read_id"], a["retro"]) for a in general] == [("r-open", False), ("passed-10min-ago", True)]
    assert [(a["read"]["read_id"], a["entry"]["entry_id"]) for a in covert] == [("r-covert", "c1")]
    assert "retro=1" in engine.log.read_text()
