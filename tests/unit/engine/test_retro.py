"""The engine's state of past reads follows its partitions: reads of partitions given up are not
alerted retro here, and reads of partitions taken over (read back from before their committed
position) are, unless published already or suppressed as a repeat of a published alert."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.codec.alerts import OutgoingAlert
from anpr_engine.codec.reads import NDJSON, encode_read
from anpr_engine.engine.loop import Engine
from anpr_engine.engine.ports import Batch, Message, batch_of
from anpr_engine.engine.retro import RecentReads
from anpr_engine.engine.suppression import Published, Suppressor
from anpr_engine.io.alert_history import published_alert
from anpr_engine.match.watchlist import Watchlist
from tests.helpers.builders import HOUR, NOW, entry_record, list_entry, listed_sample, sent_summary
from tests.helpers.fakes import ListSink, ListSource, ListUpdates
from tests.helpers.strategies import hostile_units


def _message(read_id: str, plate: str, ts_ms: int, partition: int, site: str = "s") -> Message:
    _, _, base = listed_sample(1, 5)
    read = base.model_copy(update={"read_id": read_id, "plate_text": plate, "plate_country": None, "ts_ms": ts_ms,
                                   "site": site})  # fmt: skip
    return Message(encode_read(read), b"k", "reads", partition, 0)


def _engine(batches: list[list[Message]], updates: list[list[tuple[bytes | None, bytes | None]]],
            suppress_ms: int = 0) -> tuple[Engine, ListSink]:  # fmt: skip
    sink = ListSink()
    engine = Engine(
        Watchlist(), ListSource(batches), sink, ListSink(), clock_ms=lambda: NOW, updates=[ListUpdates(updates)],
        recent=RecentReads(HOUR, 1000), suppress_ms=suppress_ms,
    )  # fmt: skip
    return engine, sink


def _alert_id(engine: Engine, read: Message) -> tuple[str, str, int, str]:
    """(entry, site, ts, alert id) of the alert `read` gives on the engine's watchlist as it stands."""
    probe = Engine(engine.watchlist, ListSource([]), ListSink(), ListSink(), clock_ms=lambda: NOW,
                   recent=RecentReads(HOUR, 1000))  # fmt: skip
    probe.take_over([batch_of([read])], [])
    (a,) = probe._retro
    return a.entry_id, a.site, a.ts_ms, a.alert_id


def test_reads_of_partitions_given_up_are_not_alerted_retro_and_the_others_are() -> None:
    batches = [[_message("p0", "12BD34", NOW - 1000, 0), _message("p1", "12BD34", NOW - 900, 1)]]
    engine, sink = _engine(batches, [[], [entry_record(list_entry(1, "12-BD-34"))]])
    engine.step()
    engine.give_up([0])  # partition 0 went to another instance
    engine.step()
    engine.settle()
    assert sent_summary(sink) == [("p1", "e1", True, False)]


def test_reads_of_a_batched_message_keep_its_partition() -> None:
    lines = [_message(f"b{i}", "12BD34", NOW - 1000 + i, 1).value or b"" for i in range(3)]
    batched = Message(b"\n".join(lines), b"k", "reads", 1, 0, NDJSON)
    engine, sink = _engine([[batched, _message("single", "12BD34", NOW - 500, 0)]],
                           [[], [entry_record(list_entry(1, "12-BD-34"))]])  # fmt: skip
    engine.step()
    engine.give_up([0])
    engine.step()
    engine.settle()
    assert sorted(read for read, *_ in sent_summary(sink)) == ["b0", "b1", "b2"]


def test_taking_over_alerts_retro_on_earlier_reads_unless_published_or_a_repeat_of_a_published_one() -> None:
    engine, sink = _engine([], [[entry_record(list_entry(1, "12-BD-34"))]], suppress_ms=300_000)
    engine.step()  # the entry is listed; no read came yet
    published = _message("published", "12BD34", NOW - 3_000_000, 3, site="a")
    repeat = _message("repeat", "12BD34", NOW - 2_900_000, 3, site="a")  # 100 s after the published one, same site
    earlier = [
        published, repeat,
        _message("unalerted", "12BD34", NOW - 600_000, 3, site="b"),
        _message("too-old", "12BD34", NOW - 2 * HOUR, 3),
        _message("unlisted", "99XZ11", NOW - 1000, 4),
    ]  # fmt: skip
    found = engine.take_over([batch_of(earlier[:2]), batch_of(earlier[2:])], [_alert_id(engine, published)])
    assert found == 1
    engine.step()  # sent with the next batch (none here)
    assert sent_summary(sink) == [("unalerted", "e1", True, False)]
    engine.give_up([3])
    assert len(engine.recent or []) == 1  # the unlisted read of partition 4 stays


def test_an_entry_listed_after_a_take_over_alerts_retro_once_on_the_reads_it_brought() -> None:
    engine, sink = _engine([], [[], [entry_record(list_entry(1, "12-BD-34"))]])
    engine.take_over([batch_of([_message("before", "12BD34", NOW - 5000, 2)])], [])
    for _ in range(3):
        engine.step()
    assert sent_summary(sink) == [("before", "e1", True, False)]


def test_an_entry_listed_after_a_take_over_does_not_alert_again_on_what_was_published() -> None:
    engine, _ = _engine([], [[entry_record(list_entry(1, "12-BD-34"))], []])
    engine.step()
    before = _message("before", "12BD34", NOW - 5000, 2)
    published = _alert_id(engine, before)  # the instance before alerted it; this one has the entry late
    late, _ = _engine([], [[], [entry_record(list_entry(1, "12-BD-34"))]])
    late.take_over([batch_of([before])], [published])
    for _ in range(3):
        late.step()
    assert not late.alerts.sent  # type: ignore[attr-defined]


def _alert(entry: str, site: str, ts: int, aid: str) -> OutgoingAlert:
    return OutgoingAlert(aid, b"", b"", False, "NL", "l", entry, site, ts)


published_alerts = st.lists(
    st.tuples(st.sampled_from("ab"), st.sampled_from("xy"), st.integers(0, 1000), st.sampled_from("pqrs")), max_size=12
)


@given(published_alerts, st.tuples(st.sampled_from("ab"), st.sampled_from("xy"), st.integers(0, 1000),
                                   st.sampled_from("pqrst")), st.integers(0, 500))  # fmt: skip
def test_published_covers_what_it_holds_and_the_repeats_within_the_window_after_one(
    kept: list[tuple[str, str, int, str]], new: tuple[str, str, int, str], window: int
) -> None:
    a = _alert(*new)
    want = any(k[3] == a.alert_id for k in kept) or any(
        (e, s) == (a.entry_id, a.site) and 0 <= a.ts_ms - t < window for e, s, t, _ in kept
    )
    assert Published(kept, window).covers(a) == want


def test_seeding_keeps_the_newest_alert_of_an_entry_at_a_site() -> None:
    s = Suppressor(100)
    s.seed([("e", "x", 500, "new"), ("e", "x", 450, "old")])
    assert s.keep([_alert("e", "x", 560, "next")]) == []  # within 100 of the newest
    assert [a.alert_id for a in s.keep([_alert("e", "x", 601, "later")])] == ["later"]


def test_a_batch_from_messages_carries_their_partitions() -> None:
    b: Batch = batch_of([_message("a", "12BD34", NOW, 7), _message("b", "12BD34", NOW, 2)])
    assert list(b.partitions) == [7, 2]


def test_a_published_alert_is_read_back_as_its_entry_site_time_and_id() -> None:
    engine, _ = _engine([], [[entry_record(list_entry(1, "12-BD-34"))]])
    engine.step()
    probe = Engine(engine.watchlist, ListSource([]), ListSink(), ListSink(), clock_ms=lambda: NOW,
                   recent=RecentReads(HOUR, 1000))  # fmt: skip
    probe.take_over([batch_of([_message("r", "12BD34", NOW - 5, 0, site="x")])], [])
    (a,) = probe._retro
    assert published_alert(a.value) == ("e1", "x", NOW - 5, a.alert_id)


@given(hostile_units())
def test_any_record_on_an_alerts_topic_reads_back_as_a_hashable_alert_or_nothing(value: bytes) -> None:
    for v in (value, b'{"alert_id":%s,"entry":{"entry_id":"e"},"read":{"site":"s","ts_ms":1}}' % value):
        got = published_alert(v)
        assert got is None or [type(x) for x in got] == [str, str, int, str]
        if got is not None:
            Published([got], 10).covers(_alert(*got))
            Suppressor(10).seed([got])
