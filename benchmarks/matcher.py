"""Matcher core: raw plate column → hits, on one core, against the plain-Python baseline on the same reads."""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa

from anpr_engine.config import MatchPolicy
from anpr_engine.index import PlateIndex
from anpr_engine.normalize import DEFAULT_OCR_CLASSES, normalize_plates
from anpr_engine.watchlist import Watchlist
from benchmarks.baseline import PyDiffMatcher, PyFormatMatcher, PyMatcher
from benchmarks.data import listed_plates, traffic

DEFAULT = MatchPolicy()
MODES = {  # mode: (budget of equivalences, budget of differences)
    "exact": (0, 0),
    "ocr_equivalent": (1, 0),
    "format": (DEFAULT.max_equivalences, 0),
    "differences": (0, 1),
}


def watchlist_bytes_per_entry(size: int) -> float:
    """Bytes a default Watchlist holds per entry it owns (index, entries, ids), by tracemalloc: what
    sizing a deployment needs, where the index's own arrays are only part of it."""
    listed = listed_plates(size, seed=size)
    gc.collect()
    tracemalloc.start()
    try:
        wl = Watchlist(DEFAULT)
        wl.upsert(listed.entries())
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return held / len(wl)


def _best_rate(fn: Any, n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def _match_index(index: PlateIndex, column: pa.Array) -> Any:
    return index.probe(normalize_plates(column, index.fold))


def _match_watchlist(wl: Watchlist, column: pa.Array, countries: pa.Array, ts: np.ndarray) -> Any:
    return wl.match(normalize_plates(column, wl.index.fold), countries, ts)


def bench_matcher(sizes: list[int], n_reads: int, baseline_reads: int, repeats: int = 3) -> list[dict[str, Any]]:
    """One row per (watchlist size, mode)."""
    rows = []
    for size in sizes:
        listed = listed_plates(size, seed=size)
        sample = traffic(n_reads, listed, listed_share=0.02, seed=size + 1)
        column = pa.array(sample.texts, pa.string())  # as decoded from Kafka: an Arrow string column
        entries = pa.array(listed.plates, pa.string())
        t = time.perf_counter()
        entries_of = listed.entries()  # validated once, for the modes that load a Watchlist
        validate_s = time.perf_counter() - t  # counted in their build time: loading = validating + indexing
        countries = pa.array(sample.countries, pa.string())
        no_ts = np.zeros(n_reads, dtype=np.int64)
        sub_texts, sub_countries = sample.texts[:baseline_reads], sample.countries[:baseline_reads]
        for mode, (budget, differences) in MODES.items():
            t = time.perf_counter()
            engine: Callable[[], Any]
            py_match: Callable[[], list[tuple[int, int]]]
            if mode == "differences":
                wl = Watchlist(MatchPolicy(mode="exact", max_differences=differences))
                wl.upsert(entries_of)
                index = wl.index
                build_s = validate_s + time.perf_counter() - t
                engine = partial(_match_watchlist, wl, column, pa.nulls(n_reads, pa.string()), no_ts)
                t = time.perf_counter()
                dpy = PyDiffMatcher(listed.plates, differences)
                py_build_s = time.perf_counter() - t
                py_match = partial(dpy.match, sub_texts)
            elif mode == "format":
                wl = Watchlist(MatchPolicy(mode="format", max_equivalences=budget))
                wl.upsert(entries_of)
                index = wl.index
                build_s = validate_s + time.perf_counter() - t
                engine = partial(_match_watchlist, wl, column, countries, no_ts)
                t = time.perf_counter()
                fpy = PyFormatMatcher(listed.plates, budget, list(listed.countries))
                py_build_s = time.perf_counter() - t
                py_match = partial(fpy.match, sub_texts, sub_countries)
            else:
                index = PlateIndex(DEFAULT_OCR_CLASSES if mode == "ocr_equivalent" else ())
                index.add(normalize_plates(entries), np.full(size, budget, dtype=np.int8))
                build_s = time.perf_counter() - t
                engine = partial(_match_index, index, column)
                t = time.perf_counter()
                py = PyMatcher(listed.plates, budget)
                py_build_s = time.perf_counter() - t
                py_match = partial(py.match, sub_texts)
            rate = _best_rate(engine, n_reads, repeats)
            hits = engine()
            py_rate = _best_rate(py_match, len(sub_texts), 1)
            py_hits = set(py_match())
            in_sub = hits.read < len(sub_texts)
            engine_hits = set(zip(hits.read[in_sub].tolist(), hits.slot[in_sub].tolist(), strict=True))
            rows.append(
                {
                    "entries": size, "mode": mode, "reads_per_s": rate, "baseline_reads_per_s": py_rate,
                    "ratio": rate / py_rate, "build_s": build_s, "baseline_build_s": py_build_s,
                    "bytes_per_entry": index.nbytes / size, "hits": len(hits),
                    "hits_equal_baseline": engine_hits == py_hits,
                }
            )  # fmt: skip
    return rows
