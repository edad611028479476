"""Matcher core: raw plate column → hits, on one core, against the plain-Python baseline on the same reads."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa

from anpr_engine.index import PlateIndex
from anpr_engine.normalize import DEFAULT_OCR_CLASSES, normalize_plates
from benchmarks.baseline import PyMatcher
from benchmarks.data import listed_plates, traffic

MODES = {"exact": 0, "ocr_equivalent": 1}


def _best_rate(fn: Any, n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def bench_matcher(sizes: list[int], n_reads: int, baseline_reads: int, repeats: int = 3) -> list[dict[str, Any]]:
    """One row per (watchlist size, mode)."""
    rows = []
    for size in sizes:
        listed = listed_plates(size, seed=size)
        sample = traffic(n_reads, listed, listed_share=0.02, seed=size + 1)
        column = pa.array(sample.texts, pa.string())  # as decoded from Kafka: an Arrow string column
        entries = pa.array(listed.plates, pa.string())
        for mode, budget in MODES.items():
            t = time.perf_counter()
            index = PlateIndex(DEFAULT_OCR_CLASSES if budget else ())
            index.add(normalize_plates(entries), np.full(size, budget, dtype=np.int8))
            build_s = time.perf_counter() - t

            def engine(index: PlateIndex = index, column: pa.Array = column) -> Any:
                return index.probe(normalize_plates(column, index.fold))

            rate = _best_rate(engine, n_reads, repeats)
            hits = engine()
            t = time.perf_counter()
            py = PyMatcher(listed.plates, budget)
            py_build_s = time.perf_counter() - t
            sub = sample.texts[:baseline_reads]
            py_rate = _best_rate(lambda py=py, sub=sub: py.match(sub), len(sub), 1)
            py_hits = set(py.match(sub))
            in_sub = hits.read < len(sub)
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
