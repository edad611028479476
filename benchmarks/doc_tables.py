"""Write the quality table of docs/quality.md and the benchmark tables of docs/benchmarks.md from
benchmarks/results (after `make bench`).

python -m benchmarks.doc_tables
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def quality_table(quality: dict[str, Any]) -> list[str]:
    out = [
        "| entries | policy | recall | false alerts per million unlisted reads "
        "| recall with candidates | false alerts with candidates |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in quality["rows"]:
        c = r["with_candidates"]
        out.append(
            f"| {r['entries']:,} | `{r['policy']}` | {r['recall'] * 100:.2f} % | {r['false_alerts_per_million']:.0f} "
            f"| {c['recall'] * 100:.2f} % | {c['false_alerts_per_million']:.0f} |"
        )
    return out


def bench_table(latest: dict[str, Any]) -> list[str]:
    d = latest["details"]
    out = ["| matcher core (one core) | entries | engine reads/s | plain Python reads/s | ratio | hits equal |",
           "|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for r in d["matcher"]:
        out.append(f"| `{r['mode']}` | {r['entries']:,} | {r['reads_per_s']:,.0f} | {r['baseline_reads_per_s']:,.0f} "
                   f"| {r['ratio']:.1f}× | {r['hits_equal_baseline']} |")  # fmt: skip
    p = d["pipeline"]
    out += [
        "", f"| pipeline through the broker ({p['reads']:,} reads, {p['watchlist_entries']:,} entries) | reads/s |",
        "|---|---:|", f"| bare consumer, values only (the client's ceiling) | {p['raw_consume_per_s']:,.0f} |",
        f"| naive per-message service | {p['naive_per_s']:,.0f} |",
        f"| engine, one read per message | {p['reads_per_s']:,.0f} ({p['ratio_raw']:.2f} of the ceiling, "
        f"{p['ratio_naive']:.1f}× naive) |",
        f"| engine, batched JSON lines (1 000 reads per message) | {p['batched_ndjson_reads_per_s']:,.0f} |",
        f"| engine, batched Arrow stream (1 000 reads per message) | {p['batched_reads_per_s']:,.0f} "
        f"({p['ratio_batched_naive']:.1f}× naive) |",
        f"| exactly-once, one read per message | {p['exactly_once_reads_per_s']:,.0f} "
        f"({p['ratio_exactly_once']:.2f} of at-least-once) |",
        f"| exactly-once, batched Arrow stream | {p['exactly_once_batched_reads_per_s']:,.0f} "
        f"({p['ratio_exactly_once_batched']:.2f} of at-least-once) |",
    ]  # fmt: skip
    out += [f"| {k.split('_')[1]} engine process(es), one read per message | {v:,.0f} |"
            for k, v in p.items() if k.startswith("workers_")]  # fmt: skip
    out += ["", "| offered reads/s | alerts | p50 ms | p99 ms | max ms | kept up |", "|---:|---:|---:|---:|---:|---|"]
    out += [f"| {r['offered_per_s']:,} | {r['alerts']} | {_fmt(r['p50_ms'])} | {_fmt(r['p99_ms'])} | "
            f"{_fmt(r['max_ms'])} | {r['kept_up']} |" for r in d["latency"]]  # fmt: skip
    w, m = latest["watchlist"], latest["machine"]
    out += [
        "",
        f"Watchlist load from the topic (fetch, decode, index) {w['topic_load_s_1m']:.1f} s per 1 000 000 "
        f"entries ({w['topic_load_entries']:,} on the topic); from models (validate + index) "
        f"{w['load_s_1m']:.1f} s per 1 000 000, index alone "
        f"{w['index_only_build_s']:.2f} s; the watchlist holds {w['bytes_per_entry']:.0f} bytes per entry, "
        f"{w['index_bytes_per_entry']:.0f} of them in the index. Under 1 000 watchlist upserts a second: "
        f"p99 {w['update_p99_ms']:.0f} ms from publish to applied, reads/s {w['read_throughput_under_updates']:.2f} "
        f"of those without updates, {w['update_apply_share'] * 100:.1f} % of the engine's time spent applying them. "
        f"`anpr-watchlist check` of a {w['file_check_rows']:,}-row CSV: {w['file_check_s_1m']:.1f} s a million rows "
        f"(process start included), {w['file_check_ratio_model']:.1f}x the model validating every row."
        + (
            f" 10 000 000 entries load from the topic in {w['topic_load_s_10m']:.0f} s."
            if "topic_load_s_10m" in w
            else ""
        ),
        f"Machine: {m['cores']} cores, {m['cpu_model']}, the broker on the same machine; "
        f"{latest['profile']} profile, {latest['timestamp']}.",
    ]
    return out


def _replace_block(text: str, name: str, lines: list[str]) -> str:
    """The text between `<!-- name:start -->` and `<!-- name:end -->` replaced by `lines`."""
    begin, finish = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    start, end = text.index(begin), text.index(finish) + len(finish)
    return text[:start] + begin + "\n" + "\n".join(lines) + "\n" + finish + text[end:]


def main() -> None:
    res = ROOT / "benchmarks" / "results"
    latest = json.loads((res / "latest.json").read_text())
    quality = json.loads((res / "quality.json").read_text())
    bench_page = ROOT / "docs" / "benchmarks.md"
    bench_page.write_text(_replace_block(bench_page.read_text(), "bench", bench_table(latest)))
    quality_page = ROOT / "docs" / "quality.md"
    text = _replace_block(quality_page.read_text(), "quality", quality_table(quality))
    exact = f"exact/{quality['default']['policy'].split('/')[1]}"
    floor = next(q for q in quality["rows"] if q["entries"] == quality["entries"] and q["policy"] == exact)
    d = quality["default"]
    text = re.sub(
        r"it finds [\d.]+ % of listed vehicles, with \d+ false alerts per million(\s+)unlisted reads, where "
        r"`exact` matching under the same country policy already has \d+",
        lambda m: (
            f"it finds {d['recall'] * 100:.2f} % of listed vehicles, with {d['false_alerts_per_million']:.0f} "
            f"false alerts per million{m.group(1)}unlisted reads, where `exact` matching under the same country policy "
            f"already has {floor['false_alerts_per_million']:.0f}"
        ),
        text,
    )
    text = re.sub(
        r"False alerts added over exact matching: [\d.]+ per million\*\* in this run",
        f"False alerts added over exact matching: {d['false_alerts_added_over_exact_per_million']:.1f} per million** "
        "in this run",
        text,
    )
    quality_page.write_text(text)


if __name__ == "__main__":
    main()
