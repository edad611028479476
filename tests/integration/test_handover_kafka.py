"""The window of recent reads follows the partitions across a restart and a rebalance, on the real
broker: an entry listed while the engine was down, or after its reads' partitions moved to another
instance, alerts retro on them once, from whichever instance holds them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anpr_engine.config import Settings
from anpr_engine.models import WatchlistEntry, entry_key
from tests.helpers.builders import entry
from tests.helpers.kafka import Engine, alert_pairs, produce, read_now, topic_values, wait, within

pytestmark = pytest.mark.integration

MARKER = entry(0, "56-FG-78")  # listed from the start: its alert shows that the reads before it were taken


def _list(s: Settings, *entries: WatchlistEntry) -> None:
    produce(s, s.topics.watchlist, [(entry_key(e.entry_id, 0).encode(), e.model_dump_json().encode()) for e in entries])


def _retro(s: Settings) -> list[tuple[str, bool]]:
    return [(a["read"]["read_id"], a["retro"]) for a in map(json.loads, topic_values(s, s.topics.alerts))]


def test_an_entry_listed_while_the_engine_was_down_alerts_retro_once_on_reads_before_the_restart(
    settings: Settings, engines: list[Engine], tmp_path: Path
) -> None:
    s = settings
    _list(s, MARKER)
    first = Engine(s, s.topics.alerts, s.group_id, tmp_path / "first.log")
    engines.append(first)
    produce(s, s.topics.reads, [(b"c", read_now("passed", "12 BD 34")), (b"c", read_now("marker", "56 FG 78"))])
    wait(lambda: len(topic_values(s, s.topics.alerts)) == 1, "no marker alert")
    first.stop()
    _list(s, entry(1, "12-BD-34"))  # listed while no engine runs
    second = Engine(s, s.topics.alerts, s.group_id, tmp_path / "second.log")
    engines.append(second)
    wait(lambda: len(topic_values(s, s.topics.alerts)) == 2, "no retro alert after the restart")
    second.stop()
    third = Engine(s, s.topics.alerts, s.group_id, tmp_path / "third.log")  # restarted again: nothing new
    engines.append(third)
    wait(lambda: "took over" in third.log.read_text(), "the third engine took nothing over")
    assert not within(lambda: len(topic_values(s, s.topics.alerts)) > 2, 3)
    third.stop()
    assert _retro(s) == [("marker", False), ("passed", True)]
    assert "1 retro alerts to send" in second.log.read_text()
    assert "0 retro alerts to send" in third.log.read_text()


def test_after_a_rebalance_and_a_leave_each_read_alerts_retro_once_from_the_instance_holding_it(
    settings: Settings, engines: list[Engine], tmp_path: Path
) -> None:
    s = settings
    eo = ("--guarantee", "exactly-once")
    _list(s, MARKER)
    a = Engine(s, s.topics.alerts, s.group_id, tmp_path / "a.log", *eo, "--instance-id", "a")
    engines.append(a)
    late = [entry(i, f"{10 + i}-BD-{40 + i}") for i in range(1, 17)]
    reads = []
    for i in range(1, 17):  # a read to be listed later, then a marker read, under each of 16 keys
        reads += [(f"cam{i}".encode(), read_now(f"r{i}", f"{10 + i} BD {40 + i}")),
                  (f"cam{i}".encode(), read_now(f"m{i}", "56 FG 78"))]  # fmt: skip
    produce(s, s.topics.reads, reads)
    wait(lambda: len(topic_values(s, s.topics.alerts)) == 16, "the first instance did not take every read")
    b = Engine(s, s.topics.alerts, s.group_id, tmp_path / "b.log", *eo, "--instance-id", "b")  # joins: a rebalance
    engines.append(b)
    wait(lambda: "took over" in b.log.read_text() and "gave up" in a.log.read_text(), "no partition moved")
    _list(s, *late[:8])  # both instances run: each alerts on the reads of the partitions it holds
    wait(lambda: len(topic_values(s, s.topics.alerts)) >= 24, "retro alerts missing with two instances")
    a.stop()  # leaves: b takes its partitions over
    wait(lambda: b.log.read_text().count("took over") >= 2, "the partitions of the instance gone never moved")
    _list(s, *late[8:])
    wait(lambda: len(topic_values(s, s.topics.alerts)) >= 32, "retro alerts missing after an instance left")
    assert not within(lambda: len(topic_values(s, s.topics.alerts)) > 32, 3)
    b.stop()
    pairs = alert_pairs(s)
    assert {p: n for p, n in pairs.items() if p[0].startswith("r")} == {(f"r{i}", f"e{i}"): 1 for i in range(1, 17)}
    assert all(retro for read_id, retro in _retro(s) if read_id.startswith("r"))
