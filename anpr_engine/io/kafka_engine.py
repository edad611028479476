"""The engine wired to Kafka from the settings: the one wiring `anpr-engine run` and the benchmarks use."""

from __future__ import annotations

from collections.abc import Sequence

from anpr_engine.config import Settings
from anpr_engine.engine.loop import Engine
from anpr_engine.engine.ports import WatchlistUpdates
from anpr_engine.engine.retro import RecentReads
from anpr_engine.io.group_source import KafkaReadSource
from anpr_engine.io.handover import Handover
from anpr_engine.io.kafka_errors import at_boundary
from anpr_engine.io.producer import AckedProducer, Outbox, alert_sinks, new_producer
from anpr_engine.io.transactions import TransactionalProducer
from anpr_engine.match.watchlist import Watchlist


@at_boundary
def kafka_engine(
    settings: Settings, watchlist: Watchlist, updates: Sequence[WatchlistUpdates]
) -> tuple[Engine, KafkaReadSource]:
    """An engine consuming the reads topic as a group member into the alert and dead-letter topics,
    in the settings' delivery mode, with the window of recent reads for retro-hits (rebuilt, like
    the suppression state, for each partition taken over: io.handover); and its source,
    which the caller closes. While the broker acknowledges nothing, the engine waits in its settle
    step, and the source holds: fetching paused, group membership kept (back-pressure)."""
    exactly_once = settings.guarantee == "exactly-once"
    transactions = TransactionalProducer(settings) if exactly_once else None
    source = KafkaReadSource(settings, transactions=transactions)
    out: Outbox
    if transactions is not None:
        transactions.on_stall = source.hold
        out = transactions
    else:  # messages never time out: a broker that takes nothing is waited for, fetching paused
        out = AckedProducer(new_producer(settings, **{"message.timeout.ms": 0}), settings.flush_timeout_s, source.hold)
    alerts, dead = alert_sinks(out, settings)
    engine = Engine(
        watchlist, source, alerts, dead, suppress_ms=int(settings.suppress_s * 1000), ts_min_ms=settings.ts_min_ms,
        ts_max_future_ms=int(settings.ts_max_future_s * 1000), updates=updates,
        updates_interval_s=settings.watchlist_interval_ms / 1000,
        recent=RecentReads.of(settings), retro_interval_s=settings.retro_interval_ms / 1000,
        settle_each=exactly_once,
    )  # fmt: skip
    handover = Handover(settings, engine)
    if handover.wanted():
        source.on_taken, source.on_left = handover.taken, handover.left
    return engine, source
