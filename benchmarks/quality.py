"""Match quality: recall of listed vehicles and false alerts per million unlisted reads, per policy and size.

The simulator's noise model gives the ground truth: which listed plate each read shows, or none.
A false alert is any alert on an unlisted vehicle's read, or to the wrong entry on a listed one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from anpr_engine.config import MatchPolicy
from anpr_engine.normalize import normalize_plates
from anpr_engine.watchlist import Watchlist
from benchmarks.data import listed_plates, traffic

POLICIES = {
    "exact": MatchPolicy(mode="exact"),
    "format_1": MatchPolicy(mode="format", max_equivalences=1),
    "format_2": MatchPolicy(mode="format", max_equivalences=2),
    "ocr_equivalent_1": MatchPolicy(mode="ocr_equivalent", max_equivalences=1),
    "ocr_equivalent_2": MatchPolicy(mode="ocr_equivalent", max_equivalences=2),
}
DEFAULT = next(name for name, p in POLICIES.items() if p == MatchPolicy())  # the engine's default policy


def bench_quality(sizes: list[int], n_reads: int, listed_share: float = 0.02) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        listed = listed_plates(size, seed=size + 11)
        entries = listed.entries()
        sample = traffic(n_reads, listed, listed_share=listed_share, seed=size + 12)
        column = pa.array(sample.texts, pa.string())
        countries = pa.array(sample.countries, pa.string())
        ts = np.zeros(n_reads, dtype=np.int64)
        is_listed = sample.truth >= 0
        for name, policy in POLICIES.items():
            wl = Watchlist(policy)
            wl.upsert(entries)
            hits = wl.match(normalize_plates(column, wl.index.fold), countries, ts)
            entry_of_slot = np.array([int(wl.entry(int(s)).entry_id) for s in hits.slot], dtype=np.int64)
            right = entry_of_slot == sample.truth[hits.read]
            found = np.zeros(n_reads, dtype=bool)
            found[hits.read[right]] = True
            unlisted = int((~is_listed).sum())
            rows.append(
                {
                    "entries": size, "policy": name, "listed_reads": int(is_listed.sum()),
                    "recall": float(found[is_listed].mean()) if is_listed.any() else None,
                    "false_alerts": int((~right).sum()),
                    "false_alerts_per_million": float((~right).sum()) / max(1, unlisted) * 1e6,
                    "missed_with_2plus_confusions": int((~found & is_listed & (sample.confusions >= 2)).sum()),
                    "missed_with_dropped_char": int((~found & is_listed & (sample.dropped > 0)).sum()),
                }
            )  # fmt: skip
    return rows
