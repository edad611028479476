"""The engine's batch step and loop: messages in → decoded reads → normalized plates → hits → alerts out.

Written against small interfaces (engine.ports: a source of message batches, an alert sink, a
dead-letter sink) so the same loop runs over Kafka (anpr_engine.io) or files (offline mode) and in tests.
Delivery is at-least-once: a batch's position is committed only after its alerts and dead letters
are acknowledged. The wait for those acknowledgements overlaps the next batch's work: a batch's
alerts are sent when it is matched, and it is settled (acknowledgements awaited, position
committed) after the next batch is matched, or when no next batch comes. In exactly-once mode
(`settle_each`) every batch is settled before the next is taken: the source commits its alerts,
dead letters and offsets in one transaction, and no transaction is open while the group rebalances.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa

from anpr_engine.codec.alerts import OutgoingAlert
from anpr_engine.codec.reads import ANY_TIME, MESSAGE_INDEX, TimeWindow, decode_messages
from anpr_engine.engine.ports import AlertSink, Batch, DeadLetterSink, Source, WatchlistUpdates
from anpr_engine.engine.retro import RecentReads
from anpr_engine.engine.suppression import Published, Suppressor
from anpr_engine.match.reads import match_reads
from anpr_engine.match.watchlist import Watchlist

log = logging.getLogger(__name__)


def freeze_heap() -> None:
    """Put every object alive now (the loaded watchlist above all) out of the garbage collector's
    reach. Its collections otherwise traverse them again and again: with 100 000 entries loaded,
    one read per message ran at 250-300k reads/s, and at 390-490k with the heap frozen."""
    gc.collect()
    gc.freeze()


def _partitions(batch: Batch, reads: pa.Table) -> np.ndarray:
    """The partition of each read's message (-1 for all where the batch has none)."""
    if not batch.partitions:
        return np.full(reads.num_rows, -1, np.int32)
    return np.asarray(batch.partitions, np.int32)[reads[MESSAGE_INDEX].to_numpy()]


@dataclass
class Stats:
    """Counters of one engine run."""

    batches: int = 0
    messages: int = 0
    reads: int = 0
    alerts: int = 0
    cross_border: int = 0
    dlq: int = 0
    suppressed: int = 0  # repeats of an (entry, site) alert within the suppression window
    retro: int = 0  # alerts on reads that passed before their entry was listed (among `alerts`)
    watchlist_records: int = 0  # records of the watchlist topic applied while running
    watchlist_refused: int = 0  # and of those, the ones refused (see Watchlist.apply)
    watchlist_apply_s: float = 0.0  # time spent applying them and searching recent reads for retro-hits
    rejected_plates: Counter[str] = field(default_factory=Counter)
    first_batch_at: float | None = None  # wall clock (s) when the first batch arrived
    last_batch_at: float | None = None  # and when the last one was committed

    def summary(self) -> str:
        rej = sum(self.rejected_plates.values())
        return (
            f"reads={self.reads} alerts={self.alerts} cross_border={self.cross_border} "
            f"dlq={self.dlq} suppressed={self.suppressed} retro={self.retro} rejected_plates={rej}"
        )


class Engine:
    """Runs batches from a source through the watchlist to the sinks until told to stop."""

    def __init__(
        self,
        watchlist: Watchlist,
        source: Source,
        alerts: AlertSink,
        dead_letters: DeadLetterSink,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        suppress_ms: int = 0,
        ts_min_ms: int = 0,
        ts_max_future_ms: int | None = None,
        updates: Sequence[WatchlistUpdates] = (),
        updates_interval_s: float = 0.0,
        recent: RecentReads | None = None,
        retro_interval_s: float = 0.0,
        settle_each: bool = False,
    ) -> None:
        self.watchlist = watchlist
        self.source = source
        self.alerts = alerts
        self.dead_letters = dead_letters
        self.clock_ms = clock_ms
        self.stats = Stats()
        self.suppressor = Suppressor(suppress_ms)
        self.ts_min_ms = ts_min_ms
        self.ts_max_future_ms = ts_max_future_ms
        self.updates = updates
        self.updates_interval_s = updates_interval_s
        self.recent = recent
        self.retro_interval_s = retro_interval_s
        self.settle_each = settle_each  # settle every batch before the next is taken (exactly-once mode)
        self._retro_at = float("-inf")  # time.monotonic() of the last search of the window
        watchlist.track_fresh = recent is not None
        self._retro: list[OutgoingAlert] = []  # retro alerts found by the last apply_updates, not sent yet
        self._updated_at = float("-inf")  # time.monotonic() of the last look at `updates`
        self._stop = False
        self._unsettled: Batch | None = None  # sent, not yet acknowledged and committed
        self.on_step: Callable[[], None] | None = None  # called after each step of run() (monitoring)
        self.sent_last: list[OutgoingAlert] = []  # the alerts sent by the last step
        self.dead_last: list[str] = []  # the reasons of its dead letters
        self.step_s = 0.0  # how long it took
        self.stepped_at = time.monotonic()  # when the loop last finished a step (liveness)

    def stop(self) -> None:
        """Ask the loop to end after the batch in hand (safe from a signal handler)."""
        self._stop = True

    def step(self) -> int:
        """Process one batch; returns the number of messages it held."""
        self.sent_last, self.dead_last = [], []
        messages = self.source.poll_batch()
        t = time.perf_counter()
        try:
            return self._step(messages)
        finally:
            self.step_s = time.perf_counter() - t
            self.stepped_at = time.monotonic()

    def _step(self, messages: Batch) -> int:
        self.apply_updates()
        if not messages:
            self.settle()
            if self._retro:  # retro alerts of updates applied while no reads come: settled at once
                self._send([])
                self._unsettled = messages
                self.settle()
            return 0
        if self.stats.first_batch_at is None:
            self.stats.first_batch_at = time.time()
        now = self.clock_ms()
        reads, rejects = decode_messages(messages.values, messages.content_types, self._window(now))
        found = match_reads(reads, self.watchlist, now, self.stats.rejected_plates)
        if self.recent is not None:
            self.recent.add(reads, now, _partitions(messages, reads))
        self.settle()
        for r in rejects:
            self.dead_letters.send(replace(messages.message(r.message), value=r.value, row=r.row), r.reason)
        self.dead_last = [r.reason for r in rejects]
        self._send(found)  # the retro alerts of the updates applied before this batch go with it
        self._unsettled = messages
        if self.settle_each:
            self.settle()
        s = self.stats
        s.batches += 1
        s.messages += len(messages)
        s.reads += reads.num_rows
        s.dlq += len(rejects)
        return len(messages)

    def _window(self, now_ms: int) -> TimeWindow:
        future = self.ts_max_future_ms
        return TimeWindow(self.ts_min_ms, ANY_TIME.hi if future is None else now_ms + future)

    def take_over(self, earlier: Iterable[Batch], published: list[tuple[str, str, int, str]]) -> int:
        """Rebuild what depends on past reads for partitions this engine takes over (at start too):
        the repeat-suppression state from the alerts already published (entry id, site, read
        ts_ms, alert id), and the window of recent reads from `earlier`, the taken partitions'
        messages before their committed positions. Their hits on the watchlist as it stands that
        are not published are sent, retro, with the next batch (see anpr_engine.retro); returns how many."""
        self.suppressor.seed(published)
        if self.recent is None:
            return 0
        done = Published(published, self.suppressor.window_ms)
        now = self.clock_ms()
        found = 0
        for batch in earlier:
            reads, _ = decode_messages(batch.values, batch.content_types, self._window(now))
            retro = self.recent.restore(reads, _partitions(batch, reads), self.watchlist, now, done)
            self._retro += retro
            found += len(retro)
        return found

    def give_up(self, partitions: Collection[int]) -> None:
        """Forget the recent reads of partitions another instance takes over: it alerts on them."""
        if self.recent is not None:
            self.recent.drop(partitions)

    def _send(self, found: list[OutgoingAlert]) -> None:
        """Send the alerts found (and the retro alerts pending) that the suppressor keeps."""
        retro, self._retro = self._retro, []
        alerts = self.suppressor.keep(retro + found)
        if alerts:
            self.alerts.send(alerts)
        self.sent_last += alerts
        s = self.stats
        s.alerts += len(alerts)
        s.retro += sum(a.retro for a in alerts)
        s.suppressed += len(retro) + len(found) - len(alerts)
        s.cross_border += sum(a.cross_border for a in alerts)

    def apply_updates(self) -> None:
        """Apply the watchlist records that arrived since the last look, before the batch in hand is
        matched: an entry published now can hit the next batch, a tombstone stops it hitting. At most
        one look every updates_interval_s: applying costs 0.5–1 ms for 1 to 50 records (measured), and
        at full speed the engine takes tens of batches a second. The window of recent reads is
        searched for what became matchable at most once every retro_interval_s: a search costs time
        in proportion to the window, whatever the few entries it is for."""
        if not self.updates or time.monotonic() - self._updated_at < self.updates_interval_s:
            return
        self._updated_at = time.monotonic()
        t = time.perf_counter()
        for updates in self.updates:
            records = updates.poll()
            if not records:
                continue
            refused = self.watchlist.apply(records, updates.party)
            for r in refused:
                log.warning(
                    "watchlist record %r%s refused, the entry under its key stays as it was: %s", r.key,
                    f" of {updates.party}" if updates.party else "", r.reason,
                )  # fmt: skip
            self.stats.watchlist_records += len(records)
            self.stats.watchlist_refused += len(refused)
        if self.recent is not None and time.monotonic() - self._retro_at >= self.retro_interval_s:
            fresh = self.watchlist.take_fresh()
            if fresh is not None:
                self._retro_at = time.monotonic()
                self._retro += self.recent.hits(fresh, self.watchlist, self.clock_ms())
        self.stats.watchlist_apply_s += time.perf_counter() - t

    def settle(self) -> None:
        """Wait for the acknowledgements of the batch sent last, then commit its position. Raises
        (committing nothing) if any alert or dead letter was not acknowledged."""
        if self._unsettled is None:
            return
        self.alerts.flush()
        self.dead_letters.flush()
        self.source.commit(self._unsettled)
        self._unsettled = None
        self.stats.last_batch_at = time.time()

    def run(self, max_idle_s: float | None = None) -> Stats:
        """Loop until stop() (or, if given, until no message came for max_idle_s while the source
        could deliver: a take-over that blocks the source's poll does not count as idle)."""
        idle_since = time.monotonic()
        while not self._stop:
            got = self.step()
            ready = self.source.ready_since()
            now = time.monotonic()
            if got or ready is None:
                idle_since = now
            elif max_idle_s is not None and now - max(idle_since, ready) >= max_idle_s:
                break
            if self.on_step is not None:
                self.on_step()
        self.settle()
        return self.stats
