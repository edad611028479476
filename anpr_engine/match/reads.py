"""Matching a table of reads against the watchlist: every reading of every read, one hit per (read, entry).

A read's candidates (the camera's next-best readings, top-N OCR) are matched beside its plate_text;
where several readings hit the same entry, the best-ranked one gives the hit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from anpr_engine.codec.alerts import HitReads, OutgoingAlert, encode_alert
from anpr_engine.match.hits import Hits
from anpr_engine.match.normalize import NormalizedPlates, normalize_plates
from anpr_engine.match.watchlist import Watchlist


@dataclass(frozen=True)
class ReadHits:
    """Hits of a table of reads, ordered by read row then entry slot, as parallel columns."""

    read: np.ndarray  # row of the read in the table
    reading: np.ndarray  # row in `plates` of the reading that matched
    rank: np.ndarray  # 0: the read's plate_text; k: its k-th candidate
    slot: np.ndarray
    equivalences: np.ndarray
    differences: np.ndarray
    plates: NormalizedPlates  # every reading, normalized: plate_texts first, then candidates
    rejected: dict[str, int]  # plate_texts that are not plate text, by reason


def match_table(reads: pa.Table, watchlist: Watchlist) -> ReadHits:
    """Hits of a table with plate_text, candidates, plate_country and ts_ms columns."""
    texts, owner, rank = _readings(reads)
    plates = normalize_plates(texts, watchlist.index.fold)
    countries, ts = reads["plate_country"].combine_chunks(), reads["ts_ms"].to_numpy()
    if len(owner) > reads.num_rows:  # candidates too: each reading takes its read's country and time
        countries, ts = countries.take(pa.array(owner)), ts[owner]
    hits = watchlist.match(plates, countries, ts)
    reading = hits.read
    by_read = Hits(owner[reading], hits.slot, hits.equivalences, hits.differences)
    best = by_read.best_per_pair(rank[reading])
    return ReadHits(
        by_read.read[best], reading[best], rank[reading[best]], by_read.slot[best], by_read.equivalences[best],
        by_read.differences[best], plates, plates.rejection_counts(first=reads.num_rows),
    )  # fmt: skip


def _readings(reads: pa.Table) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Every plate reading to match: the reads' plate_text, then their candidates; with each
    reading's read row and rank (0 for plate_text, k for the k-th candidate)."""
    n = reads.num_rows
    texts = reads["plate_text"].combine_chunks()
    own = np.arange(n)
    cand = reads["candidates"].combine_chunks()
    if cand.null_count == n:
        return texts, own, np.zeros(n, dtype=np.int8)
    extra = cand.flatten()
    parents = pc.list_parent_indices(cand).to_numpy()
    rank = np.arange(parents.shape[0]) - np.searchsorted(parents, parents) + 1
    return (
        pa.concat_arrays([texts, extra.cast(texts.type)]),
        np.concatenate([own, parents]),
        np.concatenate([np.zeros(n, dtype=np.int8), rank.astype(np.int8)]),
    )


def match_reads(
    reads: pa.Table, watchlist: Watchlist, now_ms: int, rejected: Counter[str] | None = None, retro: bool = False
) -> list[OutgoingAlert]:
    """Alerts for a table of valid reads (READ_SCHEMA): one per (read, entry) hit, in read order;
    plate_texts that are not plate text are counted by reason into `rejected`."""
    found = match_table(reads, watchlist)
    if rejected is not None:
        rejected.update(found.rejected)
    if len(found.slot) == 0:
        return []
    hit_reads = HitReads(reads.take(pa.array(found.read)))
    columns = (found.reading, found.slot, found.equivalences, found.differences, found.rank)
    return [
        encode_alert(hit_reads, i, watchlist.listed(slot), eq, diff, rank, found.plates.text(r), now_ms, retro)
        for i, (r, slot, eq, diff, rank) in enumerate(zip(*(c.tolist() for c in columns), strict=True))
    ]
