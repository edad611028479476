"""Match quality: recall of listed vehicles and false alerts per million unlisted reads, per policy and size.

Every policy is measured under both country policies (`strict`, `lenient`), on reads whose plate
country the noise model leaves out or reads as a neighbour's for a share of reads.

The simulator's noise model gives the ground truth: which listed plate each read shows, or none.
A false alert is any alert on an unlisted vehicle's read, or to the wrong entry on a listed one.
Each policy is measured twice on the same reads: on the best reading alone (the headline: cameras
that send no candidates), and with the candidates the simulated cameras sent for a share of reads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from anpr_engine.match.policy import MatchPolicy
from anpr_engine.match.reads import match_table
from anpr_engine.match.watchlist import Watchlist
from benchmarks.data import TrafficSample, listed_plates, traffic

POLICIES = {
    "exact": MatchPolicy(mode="exact"),
    "format_1": MatchPolicy(mode="format", max_equivalences=1),
    "format_2": MatchPolicy(mode="format", max_equivalences=2),
    "format_1_diff_1": MatchPolicy(mode="format", max_equivalences=1, max_differences=1),
    "format_2_diff_1": MatchPolicy(mode="format", max_equivalences=2, max_differences=1),
    "ocr_equivalent_1": MatchPolicy(mode="ocr_equivalent", max_equivalences=1),
    "ocr_equivalent_2": MatchPolicy(mode="ocr_equivalent", max_equivalences=2),
}
COUNTRY_POLICIES = ("strict", "lenient")
DEFAULT = next(  # the engine's default policy, named as the rows are
    f"{name}/{country}"
    for name, p in POLICIES.items()
    for country in COUNTRY_POLICIES
    if p.model_copy(update={"country": country}) == MatchPolicy()
)


def _table(sample: TrafficSample, with_candidates: bool) -> pa.Table:
    n = len(sample.texts)
    return pa.table({
        "plate_text": pa.array(sample.texts, pa.string()),
        "candidates": pa.array(sample.candidates if with_candidates else [None] * n, pa.list_(pa.string())),
        "plate_country": pa.array(sample.countries, pa.string()),
        "ts_ms": np.zeros(n, dtype=np.int64),
    })  # fmt: skip


def _score(wl: Watchlist, reads: pa.Table, sample: TrafficSample) -> tuple[float | None, int, np.ndarray]:
    """(recall, false alerts, which listed reads were found)."""
    hits = match_table(reads, wl)
    entry_of_slot = np.array([int(wl.entry(int(s)).entry_id) for s in hits.slot], dtype=np.int64)
    right = entry_of_slot == sample.truth[hits.read]
    found = np.zeros(reads.num_rows, dtype=bool)
    found[hits.read[right]] = True
    is_listed = sample.truth >= 0
    return (float(found[is_listed].mean()) if is_listed.any() else None), int((~right).sum()), found


def bench_quality(sizes: list[int], n_reads: int, listed_share: float = 0.02) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        listed = listed_plates(size, seed=size + 11)
        entries = listed.entries()
        sample = traffic(n_reads, listed, listed_share=listed_share, seed=size + 12)
        plain, with_cand = _table(sample, False), _table(sample, True)
        for name, policy in POLICIES.items():
            wl = Watchlist(policy)
            wl.upsert(entries)
            for country in COUNTRY_POLICIES:
                # the country policy is read at match time only: one index serves both
                wl.policy = policy.model_copy(update={"country": country})
                rows.append(_row(wl, plain, with_cand, sample, f"{name}/{country}"))
    return rows


def _row(wl: Watchlist, plain: pa.Table, with_cand: pa.Table, sample: TrafficSample, name: str) -> dict[str, Any]:
    is_listed = sample.truth >= 0
    unlisted = max(1, int((~is_listed).sum()))
    recall, false_alerts, found = _score(wl, plain, sample)
    recall_c, false_alerts_c, _ = _score(wl, with_cand, sample)
    return {
        "entries": len(wl), "policy": name, "listed_reads": int(is_listed.sum()),
        "recall": recall, "false_alerts": false_alerts,
        "false_alerts_per_million": false_alerts / unlisted * 1e6,
        "with_candidates": {"recall": recall_c, "false_alerts_per_million": false_alerts_c / unlisted * 1e6},
        "missed_with_2plus_confusions": int((~found & is_listed & (sample.confusions >= 2)).sum()),
        "missed_with_dropped_char": int((~found & is_listed & (sample.dropped > 0)).sum()),
        "missed_with_wrong_country": int((~found & is_listed & sample.wrong_country).sum()),
    }  # fmt: skip
