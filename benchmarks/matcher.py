"""Matcher core: raw plate column → hits, on one core, against the plain-Python baseline on the same reads."""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa

from anpr_engine.match.normalize import DEFAULT_OCR_CLASSES, normalize_plates
from anpr_engine.match.plate_index import PlateIndex
from anpr_engine.match.policy import MatchPolicy
from anpr_engine.match.watchlist import Watchlist
from benchmarks.baseline import PyDiffMatcher, PyFormatMatcher, PyMatcher
from benchmarks.data import Listed, listed_plates, traffic

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


LOAD_CHUNK = 200_000  # entries validated and indexed at a time: their models are not all alive at once
MAX_DIFFERENCES_ENTRIES = 1_000_000  # its plain-Python baseline holds ~8 deletion variants per plate in dicts


def _load(policy: MatchPolicy, listed: Listed) -> Watchlist:
    """A Watchlist loaded as the engine loads one: entries validated, then indexed."""
    wl = Watchlist(policy)
    for at in range(0, len(listed.plates), LOAD_CHUNK):
        wl.upsert(listed.entries(at, at + LOAD_CHUNK))
    return wl


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


@dataclass(frozen=True)
class SizeData:
    """One watchlist size's listed plates and the reads matched against them."""

    listed: Listed
    column: pa.Array  # as decoded from Kafka: an Arrow string column
    countries: pa.Array
    sub_texts: list[str]  # the reads the plain-Python baseline matches
    sub_countries: list[str | None]


def _measure(d: SizeData, mode: str, budget: int, differences: int, repeats: int) -> dict[str, Any]:
    """One mode's row; what it built is freed when it returns."""
    listed, column, countries, size, n_reads = d.listed, d.column, d.countries, len(d.listed.plates), len(d.column)
    sub_texts, sub_countries, no_ts = d.sub_texts, d.sub_countries, np.zeros(len(d.column), dtype=np.int64)
    plates = pa.array(listed.plates, pa.string())
    t = time.perf_counter()
    engine: Callable[[], Any]
    py_match: Callable[[], list[tuple[int, int]]]
    if mode == "differences":
        wl = _load(MatchPolicy(mode="exact", max_differences=differences), listed)
        index = wl.index
        build_s = time.perf_counter() - t
        engine = partial(_match_watchlist, wl, column, pa.nulls(n_reads, pa.string()), no_ts)
        t = time.perf_counter()
        dpy = PyDiffMatcher(listed.plates, differences)
        py_build_s = time.perf_counter() - t
        py_match = partial(dpy.match, sub_texts)
    elif mode == "format":
        wl = _load(MatchPolicy(mode="format", max_equivalences=budget, ambiguous="skip", country="lenient"), listed)
        index = wl.index
        build_s = time.perf_counter() - t
        engine = partial(_match_watchlist, wl, column, countries, no_ts)
        t = time.perf_counter()
        fpy = PyFormatMatcher(listed.plates, budget)
        py_build_s = time.perf_counter() - t
        py_match = partial(fpy.match, sub_texts, sub_countries)
    else:
        index = PlateIndex(DEFAULT_OCR_CLASSES if mode == "ocr_equivalent" else ())
        index.add(normalize_plates(plates), np.full(size, budget, dtype=np.int8))
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
    return {
        "entries": size, "mode": mode, "reads_per_s": rate, "baseline_reads_per_s": py_rate,
        "ratio": rate / py_rate, "build_s": build_s, "baseline_build_s": py_build_s,
        "bytes_per_entry": index.nbytes / size, "hits": len(hits),
        "hits_equal_baseline": engine_hits == py_hits,
    }  # fmt: skip


def bench_matcher(sizes: list[int], n_reads: int, baseline_reads: int, repeats: int = 3) -> list[dict[str, Any]]:
    """One row per (watchlist size, mode)."""
    rows = []
    for size in sizes:
        listed = listed_plates(size, seed=size)
        sample = traffic(n_reads, listed, listed_share=0.02, seed=size + 1)
        d = SizeData(
            listed, pa.array(sample.texts, pa.string()), pa.array(sample.countries, pa.string()),
            sample.texts[:baseline_reads], sample.countries[:baseline_reads],
        )  # fmt: skip
        for mode, (budget, differences) in MODES.items():
            if mode == "differences" and size > MAX_DIFFERENCES_ENTRIES:
                continue
            rows.append(_measure(d, mode, budget, differences, repeats))
            gc.collect()
    return rows
