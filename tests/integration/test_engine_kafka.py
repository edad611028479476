"""The engine on the real broker: exact alerts, dead letters, and restarts without skipped reads."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from anpr_engine.codec.reads import encode_read
from anpr_engine.config import Settings
from anpr_engine.models import Alert
from anpr_simulators.noise import NoiseModel
from anpr_simulators.traffic import SimulatedRead, Traffic, make_watchlists, malformed_message
from tests.helpers.kafka import BIN, engine_args, produce, read_now, run_engine, topic_values
from tests.helpers.reference import ref_alerts

pytestmark = pytest.mark.integration


def _setup(s: Settings, n_reads: int, seed: int, listed_share: float = 0.1) -> tuple[list[SimulatedRead], set]:  # type: ignore[type-arg]
    entries = make_watchlists(100, seed)
    produce(s, s.topics.watchlist, [(e.entry_id.encode(), e.model_dump_json().encode()) for e in entries])
    sims = Traffic(entries, seed=seed, listed_share=listed_share, noise=NoiseModel()).take(n_reads)
    expected = ref_alerts([x.read for x in sims], entries)
    return sims, expected


def _alerts(s: Settings) -> list[Alert]:
    return [Alert.model_validate_json(v) for v in topic_values(s, s.topics.alerts)]


def test_simulated_reads_give_exactly_the_expected_alerts(settings: Settings) -> None:
    sims, expected = _setup(settings, 3000, seed=11)
    produce(settings, settings.topics.reads, [(x.read.camera_id.encode(), encode_read(x.read)) for x in sims])
    done = run_engine(settings)
    assert done.returncode == 0, done.stderr
    alerts = _alerts(settings)
    got = [(a.read.read_id, a.entry.entry_id) for a in alerts]
    assert len(got) == len(set(got))  # one alert per (read, entry)
    assert set(got) == expected and len(expected) > 100
    assert any(a.match.equivalences > 0 for a in alerts)  # misreads were corrected, not only exact hits
    raw = json.loads(topic_values(settings, settings.topics.alerts)[0])
    assert raw["cross_border"] == (raw["read"]["camera_country"] != raw["entry"]["agency_country"])
    assert {a.cross_border for a in alerts} == {True, False}
    assert all(a.cross_border == (a.read.camera_country != a.entry.agency_country) for a in alerts)


def test_malformed_messages_go_to_the_dlq_and_valid_reads_around_them_still_match(settings: Settings) -> None:
    import random

    sims, expected = _setup(settings, 1000, seed=12)
    rng = random.Random(5)
    items: list[tuple[bytes | None, bytes | None]] = []
    bad: list[bytes | None] = []
    for i, x in enumerate(sims):
        if i % 100 == 50:
            v = malformed_message(rng) if i % 300 else None
            bad.append(v)
            items.append((b"broken", v))
        items.append((x.read.camera_id.encode(), encode_read(x.read)))
    produce(settings, settings.topics.reads, items)
    done = run_engine(settings)
    assert done.returncode == 0, done.stderr
    assert {(a.read.read_id, a.entry.entry_id) for a in _alerts(settings)} == expected
    c = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": "t-dlq", "enable.auto.commit": False})
    c.assign([TopicPartition(settings.topics.dlq, 0, 0)])
    dead = []
    deadline = time.monotonic() + 30
    while len(dead) < len(bad) and time.monotonic() < deadline:
        dead += [m for m in c.consume(100, 1.0) if m.error() is None]
    c.close()
    assert [m.value() for m in dead] == bad
    for m in dead:
        headers = dict(m.headers())
        assert headers["dlq.reason"] and headers["dlq.source.topic"] == settings.topics.reads.encode()
        assert int(headers["dlq.source.offset"]) >= 0


@pytest.mark.parametrize("static_member", [False, True])
def test_engine_killed_and_restarted_skips_no_read(settings: Settings, static_member: bool) -> None:
    """Killed without a chance to commit; a new instance (or the same static member) takes over."""
    member = ["--instance-id", "engine-a"] if static_member else []
    sims, expected = _setup(settings, 20_000, seed=13, listed_share=0.05)
    produce(settings, settings.topics.reads, [(x.read.camera_id.encode(), encode_read(x.read)) for x in sims])
    cmd = [str(BIN / "anpr-engine"), "run", *engine_args(settings), "--group-id", settings.group_id,
           "--batch-max-reads", "200", "--suppress-s", "0", *member]  # fmt: skip
    first = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not topic_values(settings, settings.topics.alerts) and time.monotonic() < deadline:
            time.sleep(0.2)
        first.send_signal(signal.SIGKILL)  # no chance to finish its batch or commit
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    partial = {(a.read.read_id, a.entry.entry_id) for a in _alerts(settings)}
    assert len(partial) > 0
    done = run_engine(settings, *member)
    assert done.returncode == 0, done.stderr
    assert {(a.read.read_id, a.entry.entry_id) for a in _alerts(settings)} == expected  # duplicates allowed
    c = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": settings.group_id})
    parts = c.list_topics(settings.topics.reads, timeout=10).topics[settings.topics.reads].partitions
    committed = c.committed([TopicPartition(settings.topics.reads, p) for p in parts], timeout=10)
    ends = [c.get_watermark_offsets(TopicPartition(settings.topics.reads, p), timeout=10)[1] for p in parts]
    c.close()
    assert [tp.offset for tp in committed] == ends


def test_sigterm_finishes_the_batch_and_exits_zero(settings: Settings) -> None:
    sims, _ = _setup(settings, 2000, seed=14)
    cmd = [str(BIN / "anpr-engine"), "run", *engine_args(settings), "--group-id", settings.group_id]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        produce(settings, settings.topics.reads, [(x.read.camera_id.encode(), encode_read(x.read)) for x in sims])
        deadline = time.monotonic() + 60
        while not topic_values(settings, settings.topics.alerts) and time.monotonic() < deadline:
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "engine: reads=" in err


def test_a_restarted_engine_suppresses_repeats_of_alerts_published_before_it_started(settings: Settings) -> None:
    """The repeat window is rebuilt from the alerts topic: the same vehicle at the same site 20 s
    later gives no second alert after a restart; at another site it does."""
    s = settings
    entry = make_watchlists(1, 61)[0]
    produce(s, s.topics.watchlist, [(entry.entry_id.encode(), entry.model_dump_json().encode())])
    now = int(time.time() * 1000)

    def read(read_id: str, site: str, ts_ms: int) -> bytes:
        r = json.loads(read_now(read_id, entry.plate))
        return json.dumps({**r, "site": site, "ts_ms": ts_ms, "plate_country": None}).encode()

    def alerts() -> list[tuple[str, str]]:
        return [(a["read"]["read_id"], a["read"]["site"]) for a in map(json.loads, topic_values(s, s.topics.alerts))]

    produce(s, s.topics.reads, [(b"cam", read("r1", "A", now - 20_000))])
    assert run_engine(s, "--suppress-s", "60").returncode == 0
    assert alerts() == [("r1", "A")]
    produce(s, s.topics.reads, [(b"cam", read("r2", "A", now)), (b"cam", read("r3", "B", now))])
    done = run_engine(s, "--suppress-s", "60")
    assert done.returncode == 0, done.stderr
    assert alerts() == [("r1", "A"), ("r3", "B")]
