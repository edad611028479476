"""Retro-hits: reads of the recent past matched against entries listed (or extended) now.

A vehicle reported stolen at 14:00 may have crossed at 13:40. The engine keeps the valid reads of
the last `window_ms` (by read time against the engine's clock) as Arrow tables, with the columns of
few distinct values (camera, site, country, direction) dictionary-encoded; an alert needs the whole
read, matching its plate, candidates, country and time. When entries become matchable
(Watchlist.take_fresh), the window's reads are matched against those entries alone, and a hit
whose read time the entry did not already cover becomes an alert with `retro: true`.

Each read is kept with the partition it came from, so that the window follows the partitions an
instance holds: the reads of partitions it gives up are dropped (their new owner alerts on them,
never both), and for partitions it takes over the window is rebuilt from their reads before the
committed position (`restore`), which alerts, retro, the hits on the watchlist as it stands that
are not published already: an entry listed while its reads' instance was down, restarting, or
giving them up, is not lost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from anpr_engine.codec.alerts import OutgoingAlert
from anpr_engine.config import Settings
from anpr_engine.engine.suppression import Published
from anpr_engine.match.reads import match_reads
from anpr_engine.match.watchlist import Fresh, Watchlist

_ENCODED = ("camera_id", "camera_country", "site", "direction")
PARTITION = "_partition"  # column added to the kept reads: the partition each came from (-1: not from Kafka)


class RecentReads:
    """The valid reads of the last window_ms (at most max_reads: the oldest go first beyond it)."""

    def __init__(self, window_ms: int, max_reads: int) -> None:
        self.window_ms = window_ms
        self.max_reads = max_reads
        self._tables: deque[tuple[int, pa.Table]] = deque()  # (newest read time, reads)
        self._count = 0
        self.published = Published()  # alerts published before the last restore: never alerted again

    @staticmethod
    def of(settings: Settings) -> RecentReads | None:
        """The window the settings ask for (retro_window_s, retro_max_reads), or None for none."""
        if settings.retro_window_s <= 0 or settings.retro_max_reads <= 0:
            return None
        return RecentReads(int(settings.retro_window_s * 1000), settings.retro_max_reads)

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Bytes held by the kept reads' buffers."""
        return sum(t.nbytes for _, t in self._tables)

    def add(self, reads: pa.Table, now_ms: int, partitions: np.ndarray | None = None) -> None:
        """Keep a batch of valid reads (READ_SCHEMA), each from the partition at its place in
        `partitions` (none: -1); forget what left the window."""
        if reads.num_rows and self.window_ms > 0 and self.max_reads > 0:
            for name in _ENCODED:
                reads = reads.set_column(
                    reads.schema.get_field_index(name), name, pc.dictionary_encode(reads[name]).combine_chunks()
                )
            part = np.full(reads.num_rows, -1, np.int32) if partitions is None else partitions.astype(np.int32)
            reads = reads.append_column(PARTITION, pa.array(part))
            self._tables.append((int(pc.max(reads["ts_ms"]).as_py()), reads.combine_chunks()))
            self._count += reads.num_rows
        self._forget(now_ms)

    def drop(self, partitions: Collection[int]) -> None:
        """Forget the reads of `partitions` (given up to another instance)."""
        gone = pa.array(list(partitions), pa.int32())
        kept: deque[tuple[int, pa.Table]] = deque()
        for newest, table in self._tables:
            t = table.filter(pc.invert(pc.is_in(table[PARTITION], gone)))
            if t.num_rows:
                kept.append((newest, t))
        self._tables = kept
        self._count = sum(t.num_rows for _, t in kept)

    def restore(
        self, reads: pa.Table, partitions: np.ndarray, watchlist: Watchlist, now_ms: int, published: Published
    ) -> list[OutgoingAlert]:
        """Keep reads of partitions taken over, from before their committed position, and return the
        retro alerts of their hits on `watchlist` that `published` does not cover (see the module)."""
        self.published = published
        inside = np.flatnonzero(reads["ts_ms"].to_numpy() >= now_ms - self.window_ms)
        reads = reads.take(pa.array(inside))
        self.add(reads, now_ms, partitions[inside])
        found = match_reads(reads, watchlist, now_ms, retro=True) if reads.num_rows else []
        return [a for a in found if not published.covers(a)]

    def _forget(self, now_ms: int) -> None:
        while self._tables and (
            self._tables[0][0] < now_ms - self.window_ms or self._count - self._tables[0][1].num_rows >= self.max_reads
        ):
            self._count -= self._tables.popleft()[1].num_rows

    def hits(self, fresh: Fresh, watchlist: Watchlist, now_ms: int) -> list[OutgoingAlert]:
        """Retro alerts for the fresh entries: the window's reads they match at a read time they did
        not cover before (and that their validity covers now), oldest first."""
        self._forget(now_ms)
        if not self._tables:
            return []
        sub = Watchlist(watchlist.policy, watchlist.lists, watchlist.party)
        sub.upsert_rows(fresh.rows)
        was = {e: (f, u) for e, f, u in zip(fresh.rows.entry_id, fresh.was_from.tolist(), fresh.was_until.tolist(),
                                               strict=True)}  # fmt: skip
        since = now_ms - self.window_ms
        out: list[OutgoingAlert] = []
        for _, table in self._tables:
            ts = table["ts_ms"].to_numpy()
            inside = np.flatnonzero(ts >= since)  # a read stamped ahead (a camera's clock) counts too
            if not len(inside):
                continue
            t = table if len(inside) == table.num_rows else table.take(pa.array(inside))
            out += [
                a for a in match_reads(t, sub, now_ms, retro=True)
                if not was[a.entry_id][0] <= a.ts_ms <= was[a.entry_id][1] and not self.published.covers(a)
            ]  # fmt: skip
        return sorted(out, key=lambda a: a.ts_ms)
