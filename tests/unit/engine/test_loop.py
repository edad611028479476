"""The engine loop over in-memory source and sinks: alerts, dead letters, and commit-after-ack."""

import json
import time
import uuid

import pyarrow as pa
import pytest

from anpr_engine.codec.reads import ARROW_STREAM, NDJSON, arrow_stream, encode_read, reads_to_table
from anpr_engine.engine.loop import Engine
from anpr_engine.engine.ports import Batch, Message
from anpr_engine.match.normalize import normalize_one
from anpr_engine.models import ALERT_NAMESPACE, Alert, PlateRead
from tests.helpers.builders import listed_sample, sent_alerts, traffic_messages
from tests.helpers.fakes import ListSink, ListSource
from tests.helpers.reference import ref_alerts


def test_alerts_equal_reference_and_bad_messages_go_to_dead_letters() -> None:
    msgs, wl, sims = traffic_messages(300)
    msgs.insert(10, Message(b"{broken", None, "reads", 0, 999))
    source, alerts, dead = ListSource([msgs[:150], msgs[150:]]), ListSink(), ListSink()
    engine = Engine(wl, source, alerts, dead)
    stats = engine.run(max_idle_s=0)
    got = {(a.read.read_id, a.entry.entry_id) for a in sent_alerts(alerts)}
    want = ref_alerts([s.read for s, _ in sims], sims[0][1])
    assert any(s.read.candidates for s, _ in sims)
    assert got == want and len(got) > 20
    assert [m.offset for (m, _) in dead.sent] == [999]  # type: ignore[attr-defined]
    assert stats.reads == 300 and stats.dlq == 1 and stats.alerts == len(want)
    assert len(source.committed) == 301


def test_nothing_is_committed_when_alerts_are_not_acknowledged() -> None:
    msgs, wl, _ = traffic_messages(100)
    source = ListSource([msgs[:50], msgs[50:]])
    engine = Engine(wl, source, ListSink(fail=True), ListSink())
    engine.step()  # sent, not yet settled
    with pytest.raises(RuntimeError, match="acknowledge"):
        engine.step()  # settling the first batch finds its alerts unacknowledged
    assert source.committed == []


def test_a_batch_is_committed_once_acknowledged_while_the_next_is_matched() -> None:
    msgs, wl, _ = traffic_messages(90)
    source = ListSource([msgs[:30], msgs[30:60], msgs[60:]])
    engine = Engine(wl, source, ListSink(), ListSink())
    engine.step()
    assert source.committed == []
    engine.step()
    assert source.committed == msgs[:30]
    engine.run(max_idle_s=0)  # the last batch is settled when no next one comes
    assert source.committed == msgs


class TakeOverSource(ListSource):
    """A group source whose first poll takes partitions over, and that takes `take_over_s` of the
    clock (reading back past alerts and reads) before it can fetch; its messages come after."""

    def __init__(self, batches: list[list[Message]], clock: list[float], take_over_s: float) -> None:
        super().__init__([[], *batches])
        self.clock, self.take_over_s = clock, take_over_s
        self.ready_at: float | None = None

    def poll_batch(self) -> Batch:
        if self.ready_at is None:
            self.clock[0] += self.take_over_s
            self.ready_at = self.clock[0]
        self.clock[0] += 0.1  # each poll waits batch_timeout_s
        return super().poll_batch()

    def ready_since(self) -> float | None:
        return self.ready_at


def test_idle_time_starts_when_the_source_can_first_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A take-over longer than max_idle_s inside the first poll is not idle time: the messages after
    it are read (the scale-out benchmark's workers once exited 28 ms after a 3.1 s take-over)."""
    msgs, wl, _ = traffic_messages(60)
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    source = TakeOverSource([msgs[:30], msgs[30:]], clock, take_over_s=10.0)
    stats = Engine(wl, source, ListSink(), ListSink()).run(max_idle_s=3)
    assert stats.reads == 60 and source.committed == msgs
    assert clock[0] - source.ready_at >= 3  # then it went idle, and stopped


def test_alert_ids_are_deterministic_and_cross_border_follows_countries() -> None:
    msgs, wl, _ = traffic_messages(200)
    first, second = ListSink(), ListSink()
    Engine(wl, ListSource([msgs]), first, ListSink()).step()
    Engine(wl, ListSource([msgs]), second, ListSink()).step()
    a1, a2 = sent_alerts(first), sent_alerts(second)
    assert [a.alert_id for a in a1] == [a.alert_id for a in a2]
    assert all(a.cross_border == (a.read.camera_country != a.entry.agency_country) for a in a1)
    assert {a.cross_border for a in a1} == {True, False}


def test_batched_messages_match_like_single_ones_and_only_bad_rows_are_dead_letters() -> None:
    msgs, wl, _ = traffic_messages(300, seed=8)
    single = ListSink()
    Engine(wl, ListSource([msgs]), single, ListSink()).step()
    lines = [m.value or b"" for m in msgs]
    lines.insert(7, b'{"read_id": "half a read"')
    batched = [
        Message(b"\n".join(lines[:150]), b"gw", "reads", 0, 0, NDJSON),
        Message(lines[150], b"cam", "reads", 0, 1),  # one single-read message in between
        Message(b"\n".join(lines[151:]) + b"\n\n", b"gw", "reads", 0, 2, NDJSON),
        Message(b"\xff\xfe not json at all", b"gw", "reads", 0, 3, NDJSON),
    ]
    alerts, dead = ListSink(), ListSink()
    stats = Engine(wl, ListSource([batched]), alerts, dead).run(max_idle_s=0)
    assert {a.alert_id for a in sent_alerts(alerts)} == {a.alert_id for a in sent_alerts(single)}
    assert [(m.offset, m.row) for (m, _) in dead.sent] == [(0, 7), (3, 0)]  # type: ignore[attr-defined]
    assert stats.reads == 300 and stats.dlq == 2


def test_batched_message_with_an_invalid_row_sends_only_that_row() -> None:
    msgs, wl, _ = traffic_messages(100, seed=9)
    lines = [m.value or b"" for m in msgs]
    bad_row = lines[3].replace(b'"confidence":', b'"confidence":5,"x":')  # valid JSON, invalid read
    lines[3] = bad_row
    alerts, dead = ListSink(), ListSink()
    batch = [Message(b"\n".join(lines) + b"\n", b"gw", "reads", 1, 42, NDJSON), Message(msgs[0].value, offset=43)]
    stats = Engine(wl, ListSource([batch]), alerts, dead).run(max_idle_s=0)
    assert [(m.partition, m.offset, m.row, m.value) for (m, _) in dead.sent] == [(1, 42, 3, bad_row)]  # type: ignore[attr-defined]
    assert stats.reads == 100 and stats.dlq == 1


def test_batched_message_with_crlf_and_blank_lines_keeps_every_read() -> None:
    msgs, wl, _ = traffic_messages(100, seed=11)
    lines = [m.value or b"" for m in msgs]
    for value in (b"\r\n".join(lines) + b"\r\n", b"\n".join([*lines[:50], b" \t", *lines[50:]])):
        dead = ListSink()
        stats = Engine(wl, ListSource([[Message(value, b"gw", "reads", 0, 0, NDJSON)]]), ListSink(), dead).run(
            max_idle_s=0
        )
        assert stats.reads == 100 and dead.sent == []  # type: ignore[attr-defined]


def test_fast_alert_json_is_the_alert_model() -> None:
    msgs, wl, _ = traffic_messages(300, seed=10)
    sink = ListSink()
    Engine(wl, ListSource([msgs]), sink, ListSink()).step()
    fast = [a for (batch,) in sink.sent for a in batch]  # type: ignore[attr-defined]
    assert len(fast) > 10
    for out in fast:
        alert = Alert.model_validate_json(out.value)
        assert json.loads(out.value) == json.loads(alert.model_dump_json())
        assert (
            alert.alert_id
            == out.alert_id
            == str(uuid.uuid5(ALERT_NAMESPACE, f"{alert.read.read_id}\x1f{alert.entry.entry_id}"))
        )
        assert out.cross_border == alert.cross_border and out.key == alert.read.camera_id.encode()
        assert alert.match.plate_listed == normalize_one(alert.entry.plate)
        readings = [alert.read.plate_text, *(alert.read.candidates or [])]
        assert alert.match.plate_read == normalize_one(readings[alert.match.candidate])


def test_arrow_stream_messages_match_and_bad_rows_or_streams_are_dead_letters() -> None:
    msgs, wl, _ = traffic_messages(200, seed=11)
    single = ListSink()
    Engine(wl, ListSource([msgs]), single, ListSink()).step()
    reads = [PlateRead.model_validate_json(m.value or b"") for m in msgs]
    table = reads_to_table(reads)
    bad = table.slice(5, 1).set_column(9, "confidence", pa.array([7.0]))  # parses, breaks the model
    stream = arrow_stream(pa.concat_tables([table.slice(0, 100), bad, table.slice(100)]))
    batch = [
        Message(stream, b"gw", "reads", 2, 10, ARROW_STREAM),
        Message(b"not arrow", b"gw", "reads", 2, 11, ARROW_STREAM),
        Message(msgs[0].value, b"cam", "reads", 2, 12),
    ]
    alerts, dead = ListSink(), ListSink()
    stats = Engine(wl, ListSource([batch]), alerts, dead).run(max_idle_s=0)
    assert {a.alert_id for a in sent_alerts(alerts)} == {a.alert_id for a in sent_alerts(single)}
    dead_rows = [(m.offset, m.row) for (m, _) in dead.sent]  # type: ignore[attr-defined]
    assert dead_rows == [(10, 100), (11, None)]
    assert json.loads(dead.sent[0][0].value)["confidence"] == 7.0  # type: ignore[index,attr-defined]
    assert stats.reads == 201 and stats.dlq == 2


def test_repeats_of_one_pass_are_suppressed_per_entry_and_site() -> None:
    entries, wl, base = listed_sample(5, 12)
    e = entries[0]

    def read(i: int, ts: int, site: str) -> Message:
        r = base.model_copy(update={"read_id": f"p{i}", "plate_text": e.plate, "ts_ms": ts, "site": site,
                                    "plate_country": None})  # fmt: skip
        return Message(encode_read(r), offset=i)

    # three reads of one pass at site A, one at site B, then site A again after the window
    msgs = [read(0, 1000, "A"), read(1, 1500, "A"), read(2, 30_000, "A"), read(3, 1600, "B"), read(4, 62_000, "A")]
    sink = ListSink()
    stats = Engine(wl, ListSource([msgs]), sink, ListSink(), suppress_ms=60_000).run(max_idle_s=0)
    assert [a.read.read_id for a in sent_alerts(sink)] == ["p0", "p3", "p4"]
    assert stats.alerts == 3 and stats.suppressed == 2
    unsuppressed = ListSink()
    Engine(wl, ListSource([msgs]), unsuppressed, ListSink(), suppress_ms=0).step()
    assert len(sent_alerts(unsuppressed)) == 5


def test_a_read_delivered_again_alerts_again_under_suppression() -> None:
    """A batch read again (its transaction was aborted, or the engine restarted before committing)
    is not a repeat: suppressing its alerts would lose them. They come out again, with the same ids."""
    entries, wl, base = listed_sample(5, 12)
    listed = {"plate_text": entries[0].plate, "plate_country": None}
    r = base.model_copy(update={"read_id": "p0", "ts_ms": 1000, **listed})
    repeat = base.model_copy(update={"read_id": "p1", "ts_ms": 2000, **listed})
    msgs = [Message(encode_read(r), offset=0), Message(encode_read(repeat), offset=1)]
    sink = ListSink()
    Engine(wl, ListSource([msgs, msgs]), sink, ListSink(), suppress_ms=60_000).run(max_idle_s=0)
    got = sent_alerts(sink)
    assert [a.read.read_id for a in got] == ["p0", "p0"]
    assert got[0].alert_id == got[1].alert_id


def test_candidate_readings_match_and_the_best_ranked_gives_the_alert() -> None:
    entries, wl, base = listed_sample(5, 13)
    e = entries[0]
    reads = [
        # best reading wrong (no look-alike of the listed plate), second candidate right
        base.model_copy(update={"read_id": "c1", "plate_text": "QQQQQQ", "candidates": ["WWWWWW", e.plate]}),
        # both the best reading and a candidate hit: one alert, from the best reading
        base.model_copy(update={"read_id": "c2", "plate_text": e.plate, "candidates": [e.plate]}),
        base.model_copy(update={"read_id": "c3", "plate_text": "QQQQQQ", "candidates": ["\x00", "WWWWWW"]}),
    ]
    reads = [r.model_copy(update={"plate_country": None}) for r in reads]
    msgs = [Message(encode_read(r), offset=i) for i, r in enumerate(reads)]
    sink = ListSink()
    stats = Engine(wl, ListSource([msgs]), sink, ListSink()).run(max_idle_s=0)
    got = [(a.read.read_id, a.match.candidate, a.match.plate_read) for a in sent_alerts(sink)]
    assert got == [("c1", 2, normalize_one(e.plate)), ("c2", 0, normalize_one(e.plate))]
    assert stats.rejected_plates == {}  # only plate_text counts as a rejected plate
    for alert in sent_alerts(sink):
        assert alert.read.candidates == next(r.candidates for r in reads if r.read_id == alert.read.read_id)


def test_alert_json_escapes_every_read_field() -> None:
    entries, wl, base = listed_sample(3, 15)
    odd = base.model_copy(update={
        "read_id": 'r"1\\', "camera_id": "cam\u00e9\t", "site": 'Sint-"Pieter" \u00d6\n\x01', "plate_country": None,
        "plate_text": entries[0].plate, "confidence": 1.0, "candidates": ['A"B', "\u0410\u0412"],
    })  # fmt: skip
    sink = ListSink()
    Engine(wl, ListSource([[Message(encode_read(odd))]]), sink, ListSink()).step()
    (out,) = [a for (batch,) in sink.sent for a in batch]  # type: ignore[attr-defined]
    alert = Alert.model_validate_json(out.value)
    assert alert.read == odd
    assert json.loads(out.value) == json.loads(alert.model_dump_json())
