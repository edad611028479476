"""Hostile messages between valid reads of a listed plate, on the real broker: the engine goes on,
every hostile message lands in the dead-letter topic with a reason, every valid read alerts."""

from __future__ import annotations

import json
import time

import pyarrow as pa
import pytest
from confluent_kafka import Consumer, TopicPartition

from anpr_engine.codec.reads import ARROW_STREAM, NDJSON
from anpr_engine.config import Settings
from anpr_engine.io.producer import AckedProducer, new_producer
from anpr_engine.models import Alert, Category, WatchlistEntry
from tests.helpers.kafka import produce, run_engine, topic_values

pytestmark = pytest.mark.integration

LISTED = WatchlistEntry(
    entry_id="nl-1", plate="34-OEU-5", plate_country="NL", list_name="stolen", agency="Politie Limburg",
    agency_country="NL", category=Category.STOLEN_VEHICLE,
)  # fmt: skip


def _read(i: int, **change: object) -> dict[str, object]:
    now = int(time.time() * 1000)
    read = {
        "read_id": f"r{i}", "camera_id": "BE-LANAKEN-1", "camera_country": "BE", "site": "N78 Lanaken", "lane": 1,
        "direction": "inbound", "ts_ms": now, "plate_text": "34 oeu 5", "plate_country": "NL", "confidence": 0.9,
    }  # fmt: skip
    return {**read, **change}


def _json(d: object) -> bytes:
    return json.dumps(d).encode()


def _arrow(columns: dict[str, pa.Array]) -> bytes:
    table = pa.table(columns)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def test_hostile_messages_go_to_the_dlq_and_every_valid_read_alerts(settings: Settings) -> None:
    produce(settings, settings.topics.watchlist, [(b"nl-1", LISTED.model_dump_json().encode())])
    hostile: list[tuple[bytes | None, str | None]] = [
        (_json(_read(900, ts_ms=2**70)), None),  # beyond 64 bits
        (_json(_read(901, lane=2**70)), None),
        (_json(_read(902, confidence=1e308)), None),
        (_json(_read(903, ts_ms=int(time.time()))), None),  # seconds, not milliseconds
        (_json(_read(904, ts_ms=int(time.time() * 1000) + 3 * 86_400_000)), None),  # three days ahead
        (_json(_read(905, plate_text={"nested": [1, 2]})), None),
        (_json(_read(906, candidates="12AB")), None),
        (b'{"read_id":' + b"[" * 5000 + b"]" * 5000 + b"}", None),  # deep nesting
        (b"\xff\xfe not utf-8", None),
        (_json([1, 2, 3]), None),
        (b"null", None),
        (None, None),  # an empty message
        (b"\n".join([_json(_read(907, ts_ms=-1)), b"{broken"]), NDJSON),  # two bad lines
        (b"not an arrow stream", ARROW_STREAM),
    ]
    valid: list[tuple[bytes, str | None]] = [
        (_json(_read(i)), None) for i in range(5)
    ]  # fmt: skip
    valid.append((b"\n".join(_json(_read(i)) for i in range(5, 8)), NDJSON))
    n = 3
    arrow_cols = {k: pa.array([_read(8 + i)[k] for i in range(n)]) for k in _read(0)}
    arrow_cols["lane"] = pa.array(["1", "2", "x"])  # strings where integers belong: judged row by row
    valid.append((_arrow(arrow_cols), ARROW_STREAM))  # rows r8, r9 valid; r10 ("x") a dead letter
    out = AckedProducer(new_producer(settings))
    for k, (value, ctype) in enumerate(valid + hostile):
        headers = [("content-type", ctype.encode())] if ctype else None
        out.produce(settings.topics.reads, value, f"k{k % 3}".encode(), headers)
    out.flush()
    done = run_engine(settings)
    assert done.returncode == 0, done.stderr
    alerts = [Alert.model_validate_json(v) for v in topic_values(settings, settings.topics.alerts)]
    assert sorted(a.read.read_id for a in alerts) == sorted(f"r{i}" for i in range(10))
    assert all(a.match.kind == "exact" and a.cross_border for a in alerts)
    c = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": "t-dlq", "enable.auto.commit": False})
    c.assign([TopicPartition(settings.topics.dlq, 0, 0)])
    dead = []
    deadline = time.monotonic() + 30
    want = len(hostile) + 2  # the JSON-lines message has two bad lines, the Arrow stream one bad row
    while len(dead) < want and time.monotonic() < deadline:
        dead += [m for m in c.consume(100, 1.0) if m.error() is None]
    c.close()
    assert len(dead) == want
    reasons = [dict(m.headers())["dlq.reason"].decode() for m in dead]
    assert all(reasons)
    assert sum("outside the accepted window" in r for r in reasons) == 2
    assert {m.value() for m in dead} >= {v for v, _ in hostile if v is not None and b"\n" not in v}


def test_records_of_any_shape_on_the_alerts_topics_do_not_stop_an_engine_taking_partitions_over(
    settings: Settings,
) -> None:
    s = settings
    produce(s, s.topics.watchlist, [(LISTED.entry_id.encode(), LISTED.model_dump_json().encode())])
    hostile = [
        b"", b"\xff\xfe", b"[]", b"null", b'"x"', b"1e999", b"[" * 5000 + b"]" * 5000,
        _json({"alert_id": [1], "entry": {"entry_id": "nl-1"}, "read": {"site": "N78 Lanaken", "ts_ms": 1}}),
        _json({"alert_id": "a", "entry": {"entry_id": {"x": 1}}, "read": {"site": "s", "ts_ms": 1}}),
        _json({"alert_id": "a", "entry": {"entry_id": "nl-1"}, "read": {"site": "N78 Lanaken", "ts_ms": 2**70}}),
        _json({"alert_id": "a", "entry": ["nl-1"], "read": {"site": "s", "ts_ms": "now"}}),
    ]  # fmt: skip
    for topic in (s.topics.alerts, s.topics.alerts_covert):
        produce(s, topic, [(None, v) for v in hostile])
    produce(s, s.topics.reads, [(b"c", _json(_read(1)))])
    done = run_engine(s, "--suppress-s", "60")
    assert done.returncode == 0, done.stderr
    # the hostile records spread over the partitions: the engine's alerts are told apart by how they begin
    alerts = [json.loads(v) for v in topic_values(s, s.topics.alerts) if v.startswith(b'{"schema_version":')]
    assert [a["read"]["read_id"] for a in alerts] == ["r1"]
