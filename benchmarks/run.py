"""`make bench`: every benchmark, each against its baseline measured in the same run.

    python -m benchmarks.run            quick profile (a few minutes)
    python -m benchmarks.run --full     adds 10 000 000 entries, longer latency runs
    python -m benchmarks.run --tiny     seconds; what the test suite runs so the benchmarks cannot rot

Writes benchmarks/results/latest.json (and quality.json) and benchmarks/results/chart.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.files import bench_file_check
from benchmarks.latency import bench_latency
from benchmarks.matcher import bench_matcher, watchlist_bytes_per_entry
from benchmarks.pipeline import bench_live_updates, bench_pipeline, bench_topic_load
from benchmarks.quality import DEFAULT, bench_quality

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Profile:
    sizes: list[int]
    reads: int
    baseline_reads: int
    pipeline_reads: int
    naive_reads: int
    pipeline_watchlist: int
    rates: list[int]
    latency_s: float
    quality_sizes: list[int]
    quality_reads: int
    memory_entries: int  # entries of the watchlist whose memory is measured
    topic_load_entries: int  # entries on the watchlist topic whose load is timed
    live_reads: int  # reads of each run with and without watchlist updates arriving
    live_entries: int
    file_check_rows: int  # rows of the watchlist CSV `anpr-watchlist check` validates


PROFILES = {
    "tiny": Profile(
        [1_000, 5_000],
        20_000,
        5_000,
        5_000,
        2_000,
        1_000,
        [200, 1_000],
        1.5,
        [1_000],
        5_000,
        2_000,
        5_000,
        100_000,
        1_000,
        10_000,
    ),
    "quick": Profile(
        [10_000, 100_000, 1_000_000],
        500_000,
        100_000,
        1_000_000,
        200_000,
        100_000,
        [1_000, 10_000, 50_000],
        5.0,
        [10_000, 100_000, 1_000_000],
        300_000,
        100_000,
        1_000_000,
        1_000_000,
        100_000,
        1_000_000,
    ),
    "full": Profile(
        [10_000, 100_000, 1_000_000, 10_000_000],
        2_000_000,
        300_000,
        2_000_000,
        300_000,
        1_000_000,
        [1_000, 10_000, 50_000, 100_000],
        15.0,
        [10_000, 100_000, 1_000_000],
        1_000_000,
        1_000_000,
        10_000_000,
        2_000_000,
        1_000_000,
        1_000_000,
    ),
}


def machine() -> dict[str, Any]:
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu_model": model, "python": platform.python_version()}


def summary(matcher: list[dict[str, Any]], pipe: dict[str, Any], latency: list[dict[str, Any]],
            quality: list[dict[str, Any]], held_per_entry: float, topic: dict[str, Any],
            live: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The keys of latest.json that the issues name, from the largest size measured up to 1 000 000."""
    size = max(r["entries"] for r in matcher if r["entries"] <= 1_000_000)
    exact = next(r for r in matcher if r["entries"] == size and r["mode"] == "exact")
    fmt = next(r for r in matcher if r["entries"] == size and r["mode"] == "format")
    at = min(latency, key=lambda r: abs(r["offered_per_s"] - 10_000))
    return {
        "matcher": {
            "entries": size, "reads_per_s": exact["reads_per_s"],
            "baseline_reads_per_s": exact["baseline_reads_per_s"], "ratio": exact["ratio"],
            "ocr_reads_per_s": next(
                r["reads_per_s"] for r in matcher if r["entries"] == size and r["mode"] == "ocr_equivalent"
            ),
        },
        "pipeline": {k: pipe[k] for k in (
            "reads_per_s", "raw_consume_per_s", "naive_per_s", "ratio_raw", "ratio_naive", "batched_reads_per_s",
            "batched_ndjson_reads_per_s", "ratio_batched_naive", "exactly_once_reads_per_s", "ratio_exactly_once",
            "exactly_once_batched_reads_per_s", "ratio_exactly_once_batched")},
        "latency_ms": {"offered_per_s": at["offered_per_s"], "p50": at["p50_ms"], "p99": at["p99_ms"],
                       "max": at["max_ms"]},
        # load = validating the entries and indexing them in a Watchlist (the engine's path, Kafka fetch aside)
        "watchlist": {"load_s_1m": fmt["build_s"] * 1_000_000 / size, "bytes_per_entry": held_per_entry,
                      "index_bytes_per_entry": fmt["bytes_per_entry"], "entries_measured": size,
                      "index_only_build_s": exact["build_s"],
                      "topic_load_s_1m": topic["load_s"] * 1_000_000 / topic["entries"],
                      "topic_load_entries": topic["entries"], "update_p99_ms": live["update_p99_ms"],
                      "read_throughput_under_updates": live["ratio"], "update_apply_share": live["apply_share"],
                      "file_check_s_1m": files["check_s"] * 1_000_000 / files["rows"], "file_check_rows": files["rows"],
                      "file_check_ratio_model": files["ratio"],
                      **({"topic_load_s_10m": topic["load_s"] * 10_000_000 / topic["entries"]}
                         if topic["entries"] >= 10_000_000 else {})},
        "scale_out": {k: v for k, v in pipe.items() if k.startswith("workers_")},
        "quality_default": next(
            ({"recall": q["recall"], "false_alerts_per_million": q["false_alerts_per_million"], "entries": q["entries"]}
             for q in sorted(quality, key=lambda q: -q["entries"]) if q["policy"] == DEFAULT), {}),
    }  # fmt: skip


def quality_json(quality: list[dict[str, Any]]) -> dict[str, Any]:
    """quality.json: the default policy and each policy at the largest size, plus every row."""
    size = max(q["entries"] for q in quality)
    at = {q["policy"]: q for q in quality if q["entries"] == size}
    out: dict[str, Any] = {
        name: {"recall": q["recall"], "false_alerts_per_million": q["false_alerts_per_million"]}
        for name, q in at.items()
    }
    exact = out[f"exact/{DEFAULT.split('/')[1]}"]  # exact matching under the default's country policy
    added = out[DEFAULT]["false_alerts_per_million"] - exact["false_alerts_per_million"]
    out["default"] = {**out[DEFAULT], "policy": DEFAULT, "false_alerts_added_over_exact_per_million": added}
    out["entries"] = size
    out["rows"] = quality
    return out


def chart(matcher: list[dict[str, Any]], latency: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    for mode in sorted({r["mode"] for r in matcher}):
        rows = sorted((r for r in matcher if r["mode"] == mode), key=lambda r: r["entries"])
        a.plot([r["entries"] for r in rows], [r["reads_per_s"] for r in rows], "o-", label=f"engine, {mode}")
        a.plot([r["entries"] for r in rows], [r["baseline_reads_per_s"] for r in rows], "x--",
               label=f"plain Python, {mode}")  # fmt: skip
    a.set(xscale="log", yscale="log", xlabel="watchlist entries", ylabel="reads/s (one core)",
          title="Matcher core: normalize + match")  # fmt: skip
    a.legend(fontsize=8)
    rates = [r["offered_per_s"] for r in latency]
    for key, style in (("p50_ms", "o-"), ("p99_ms", "s-"), ("max_ms", "^:")):
        b.plot(rates, [r[key] for r in latency], style, label=key.split("_")[0])
    b.set(xscale="log", xlabel="offered reads/s", ylabel="ms, read produced → alert consumed",
          title="End-to-end latency through Kafka")  # fmt: skip
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_tables(console: Console, matcher: list[dict[str, Any]], pipe: dict[str, Any],
                 latency: list[dict[str, Any]], quality: list[dict[str, Any]]) -> None:  # fmt: skip
    t = Table(title="Matcher core (one core, reads/s)")
    for c in ("entries", "mode", "engine", "plain Python", "ratio", "build s", "bytes/entry", "hits = baseline"):
        t.add_column(c)
    for r in matcher:
        t.add_row(f"{r['entries']:,}", r["mode"], f"{r['reads_per_s']:,.0f}", f"{r['baseline_reads_per_s']:,.0f}",
                  f"{r['ratio']:.1f}x", f"{r['build_s']:.2f}", f"{r['bytes_per_entry']:.0f}",
                  str(r["hits_equal_baseline"]))  # fmt: skip
    console.print(t)
    t = Table(title=f"Pipeline through the broker ({pipe['reads']:,} reads, {pipe['watchlist_entries']:,} entries)")
    t.add_column("what")
    t.add_column("reads/s")
    for k in ("raw_consume_per_s", "naive_per_s", "reads_per_s", "batched_ndjson_reads_per_s", "batched_reads_per_s",
              *[k for k in pipe if k.startswith("workers_")]):  # fmt: skip
        t.add_row(k, f"{pipe[k]:,.0f}")
    t.add_row("engine / raw", f"{pipe['ratio_raw']:.2f}")
    t.add_row("engine / naive", f"{pipe['ratio_naive']:.2f}")
    t.add_row("batched (Arrow) / naive", f"{pipe['ratio_batched_naive']:.2f}")
    console.print(t)
    t = Table(title="Latency, read produced → alert consumed (ms)")
    for c in ("offered/s", "alerts", "p50", "p99", "max", "drain", "kept up"):
        t.add_column(c)
    for r in latency:
        t.add_row(f"{r['offered_per_s']:,}", str(r["alerts"]), *(f"{r[k]:.1f}" if r[k] is not None else "-"
                  for k in ("p50_ms", "p99_ms", "max_ms", "drain_ms")), str(r["kept_up"]))  # fmt: skip
    console.print(t)
    t = Table(title="Match quality (simulator noise model)")
    for c in ("entries", "policy", "recall", "false alerts / M unlisted reads", "with candidates: recall", "FA / M"):
        t.add_column(c)
    for q in quality:
        c = q["with_candidates"]
        t.add_row(f"{q['entries']:,}", q["policy"], f"{q['recall']:.4f}", f"{q['false_alerts_per_million']:.0f}",
                  f"{c['recall']:.4f}", f"{c['false_alerts_per_million']:.0f}")  # fmt: skip
    console.print(t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--full", action="store_true", help="everything, with 10 000 000 entries (long)")
    g.add_argument("--tiny", action="store_true", help="seconds: checks that the benchmarks run")
    p.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    args = p.parse_args()
    name = "full" if args.full else "tiny" if args.tiny else "quick"
    prof = PROFILES[name]
    console = Console(width=140)
    t0 = time.perf_counter()
    took: dict[str, float] = {}

    def section(title: str, run: Callable[[], Any]) -> Any:
        console.print(f"[bold]benchmarks ({name})[/]: {title}…")
        t = time.perf_counter()
        out = run()
        took[title] = round(time.perf_counter() - t, 1)
        return out

    matcher = section("matcher", lambda: bench_matcher(prof.sizes, prof.reads, prof.baseline_reads))
    held = section("memory", lambda: watchlist_bytes_per_entry(prof.memory_entries))
    topic = section("watchlist topic load", lambda: bench_topic_load(prof.topic_load_entries))
    live = section("watchlist updates", lambda: bench_live_updates(prof.live_reads, prof.live_entries))
    files = section("watchlist file check", lambda: bench_file_check(prof.file_check_rows))
    pipe = section("pipeline", lambda: bench_pipeline(prof.pipeline_reads, prof.naive_reads, prof.pipeline_watchlist))
    latency = section("latency", lambda: bench_latency(prof.rates, prof.latency_s, prof.pipeline_watchlist))
    quality = section("quality", lambda: bench_quality(prof.quality_sizes, prof.quality_reads))
    print_tables(console, matcher, pipe, latency, quality)
    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        **summary(matcher, pipe, latency, quality, held, topic, live, files),
        "machine": machine(), "timestamp": datetime.now(UTC).isoformat(timespec="seconds"), "profile": name,
        "seconds": time.perf_counter() - t0, "section_seconds": took,
        "details": {"matcher": matcher, "pipeline": pipe, "latency": latency, "topic_load": topic,
                    "live_updates": live, "file_check": files},
    }  # fmt: skip
    (args.out / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "quality.json").write_text(json.dumps(quality_json(quality), indent=2) + "\n")
    chart(matcher, latency, args.out / "chart.png")
    console.print(f"wrote {args.out}/latest.json, quality.json, chart.png in {result['seconds']:.0f} s {took}")


if __name__ == "__main__":
    main()
