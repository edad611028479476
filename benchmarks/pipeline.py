"""Pipeline through the real broker: raw consume (the client's ceiling), a naive engine, the engine,
batched reads, and 1 vs 2 worker processes, all on the same reads in the same run."""

from __future__ import annotations

import gc
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer

from anpr_engine.codec.reads import ARROW_STREAM, NDJSON, arrow_stream, decode_reads
from anpr_engine.config import Guarantee, Settings, TopicNames
from anpr_engine.engine.loop import freeze_heap
from anpr_engine.io.admin import ensure_topics
from anpr_engine.io.client_config import FETCH_TUNING
from anpr_engine.io.kafka_engine import kafka_engine
from anpr_engine.io.producer import AckedProducer, new_producer
from anpr_engine.io.topic_readers import TopicFollower
from anpr_engine.io.watchlist_topic import load_watchlist
from anpr_engine.match.watchlist import Watchlist
from anpr_engine.models import PlateRead
from anpr_simulators.traffic import CAMERAS
from benchmarks.baseline import py_normalize
from benchmarks.data import Listed, listed_plates, traffic

BIN = Path(sys.executable).parent


def bench_settings(tag: str) -> Settings:
    run = f"bench.{tag}.{uuid.uuid4().hex[:8]}"
    topics = TopicNames(reads=f"{run}.reads", alerts=f"{run}.alerts", watchlist=f"{run}.watchlist", dlq=f"{run}.dlq")
    s = Settings(topics=topics, group_id=f"{run}.engine")
    ensure_topics(s)
    return s


def read_values(n: int, listed: Listed, seed: int, ts_ms: int | None = None) -> tuple[list[bytes], list[bytes]]:
    """n JSON reads (2 % listed vehicles, OCR noise) and their keys (camera ids)."""
    base = traffic(min(n, 50_000), listed, listed_share=0.02, seed=seed)
    rng = random.Random(seed)
    values, keys = [], []
    now = ts_ms or time.time_ns() // 1_000_000
    for i in range(n):
        j = i % len(base.texts)
        cam = CAMERAS[rng.randrange(len(CAMERAS))]
        country = base.countries[j]
        values.append(
            (
                f'{{"read_id":"r{i}","camera_id":"{cam.camera_id}","camera_country":"{cam.country}",'
                f'"site":"{cam.site}","lane":0,"direction":"inbound","ts_ms":{now + i},'
                f'"plate_text":{json.dumps(base.texts[j])},'
                f'"plate_country":{json.dumps(country)},"confidence":0.9}}'
            ).encode()
        )
        keys.append(cam.camera_id.encode())
    return values, keys


def fill(s: Settings, topic: str, values: list[bytes], keys: list[bytes], batch: int = 1, fmt: str = NDJSON) -> float:
    """Produce the values (batch > 1: that many per JSON-lines or Arrow-stream message); returns seconds."""
    out = AckedProducer(new_producer(s, **{"linger.ms": 20, "batch.size": 1_000_000}))
    t = time.perf_counter()
    if batch == 1:
        for v, k in zip(values, keys, strict=True):
            out.produce(topic, v, k)
    else:
        for i in range(0, len(values), batch):
            chunk = b"\n".join(values[i : i + batch])
            if fmt == ARROW_STREAM:
                chunk = arrow_stream(decode_reads(values[i : i + batch]).reads)
            out.produce(topic, chunk, b"gateway", [("content-type", fmt.encode())])
    out.flush()
    return time.perf_counter() - t


def raw_consume(s: Settings, topic: str, n: int) -> float:
    """Messages/s of a bare consumer that only fetches the values."""
    c = Consumer({**s.kafka_conf("consumer"), "group.id": f"raw-{uuid.uuid4()}", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, **FETCH_TUNING})  # fmt: skip
    c.subscribe([topic])
    got, t0 = 0, None
    while got < n:
        batch = c.consume(10_000, 1.0)
        if batch and t0 is None:
            t0 = time.perf_counter()
        for m in batch:
            if m.error() is None and m.value() is not None:
                got += 1
    rate = got / (time.perf_counter() - (t0 or time.perf_counter()))
    c.close()
    return rate


def naive_engine(s: Settings, topic: str, n: int, listed: Listed) -> tuple[float, int]:
    """What a typical Python service does: poll one message, json.loads, validate, set lookup, produce a hit."""
    plates = {p for p in (py_normalize(x) for x in listed.plates) if p}
    c = Consumer({**s.kafka_conf("consumer"), "group.id": f"naive-{uuid.uuid4()}", "auto.offset.reset": "earliest",
                  **FETCH_TUNING})  # fmt: skip  # the same fetching as the engine: only the Python work differs
    c.subscribe([topic])
    out = AckedProducer(new_producer(s))
    got = hits = 0
    t0 = None
    while got < n:
        m = c.poll(1.0)
        if m is None or m.error() is not None:
            continue
        if t0 is None:
            t0 = time.perf_counter()
        got += 1
        read = PlateRead.model_validate(json.loads(m.value() or b"null"))
        if py_normalize(read.plate_text) in plates:
            hits += 1
            out.produce(s.topics.alerts, json.dumps({"read": read.model_dump(mode="json")}).encode(), m.key())
    out.flush()
    rate = got / (time.perf_counter() - (t0 or time.perf_counter()))
    c.close()
    return rate, hits


def engine_in_process(
    s: Settings, topic: str, n_reads: int, watchlist: Watchlist, updates: TopicFollower | None = None,
    guarantee: Guarantee = "at-least-once",
) -> tuple[float, int, float]:  # fmt: skip
    """Reads/s of the engine (consume, decode, match, produce alerts, commit) in this process, its
    alerts, and the share of its time spent applying watchlist records from `updates`; wired as
    `anpr-engine run --guarantee <guarantee> --suppress-s 0` wires it."""
    group = f"{s.group_id}-{topic}-{guarantee}"
    topics = s.topics.model_copy(update={"reads": topic})
    settings = s.model_copy(update={"topics": topics, "group_id": group, "guarantee": guarantee, "suppress_s": 0.0})
    engine, source = kafka_engine(settings, watchlist, [] if updates is None else [updates])
    deadline = time.monotonic() + 600
    while engine.stats.reads + engine.stats.dlq < n_reads and time.monotonic() < deadline:
        engine.step()
    engine.settle()
    source.close()
    st = engine.stats
    took = (st.last_batch_at or 0) - (st.first_batch_at or 0)
    return st.reads / took, st.alerts, st.watchlist_apply_s / took


def scale_out(s: Settings, topic: str, n_reads: int, workers: int) -> float:
    """Reads/s of `workers` engine processes in one group over a pre-filled topic."""
    group = f"{s.group_id}-x{workers}-{uuid.uuid4().hex[:4]}"
    args = ["--bootstrap-servers", s.bootstrap_servers, "--reads-topic", topic, "--alerts-topic", s.topics.alerts,
            "--watchlist-topic", s.topics.watchlist, "--dlq-topic", s.topics.dlq, "--group-id", group,
            "--idle-exit-s", "3", "--suppress-s", "0"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        files = [Path(tmp) / f"w{i}.json" for i in range(workers)]
        procs = [
            subprocess.Popen(
                [str(BIN / "anpr-engine"), "run", *args, "--stats-file", str(f)],
                stderr=f.with_suffix(".err").open("w"),
            )
            for f in files
        ]
        for p in procs:
            p.wait(timeout=900)
        failed = [f.with_suffix(".err").read_text()[-2000:] for f, p in zip(files, procs, strict=True) if p.returncode]
        if failed:
            raise RuntimeError(f"an engine worker failed:\n{failed[0]}")
        stats = [json.loads(f.read_text()) for f in files if f.exists()]
    done = [st for st in stats if st["first_batch_at"]]
    reads = sum(st["reads"] for st in stats)
    if reads < n_reads or not done:
        raise RuntimeError(f"scale-out run with {workers} workers saw {reads} of {n_reads} reads")
    return reads / (max(st["last_batch_at"] for st in done) - min(st["first_batch_at"] for st in done))


def bench_pipeline(n: int, naive_n: int, watchlist_size: int, workers: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    s = bench_settings("pipe")
    listed = listed_plates(watchlist_size, seed=7)
    wl = Watchlist(s.match)
    wl.upsert(listed.entries())
    out = AckedProducer(new_producer(s))
    for e in listed.entries():
        out.produce(s.topics.watchlist, e.model_dump_json().encode(), e.entry_id.encode())
    out.flush()
    values, keys = read_values(n, listed, seed=8)
    batched_topic, arrow_topic = s.topics.reads + ".batched", s.topics.reads + ".arrow"
    for t in (batched_topic, arrow_topic):
        ensure_topics(s.model_copy(update={"topics": s.topics.model_copy(update={"reads": t})}))
    fill_s = fill(s, s.topics.reads, values, keys)
    fill(s, batched_topic, values, keys, batch=1000)
    fill(s, arrow_topic, values, keys, batch=1000, fmt=ARROW_STREAM)
    freeze_heap()  # as the engine's command does after loading: every consumer below runs on the same heap
    raw = raw_consume(s, s.topics.reads, n)
    naive, naive_hits = naive_engine(s, s.topics.reads, naive_n, listed)
    eng, eng_alerts, _ = engine_in_process(s, s.topics.reads, n, wl)
    ndjson, ndjson_alerts, _ = engine_in_process(s, batched_topic, n, wl)
    batched, batched_alerts, _ = engine_in_process(s, arrow_topic, n, wl)
    eos, eos_alerts, _ = engine_in_process(s, s.topics.reads, n, wl, guarantee="exactly-once")
    eos_batched, _, _ = engine_in_process(s, arrow_topic, n, wl, guarantee="exactly-once")
    result: dict[str, Any] = {
        "reads": n, "naive_reads": naive_n, "watchlist_entries": watchlist_size, "fill_per_s": n / fill_s,
        "raw_consume_per_s": raw, "naive_per_s": naive, "reads_per_s": eng, "batched_reads_per_s": batched,
        "batched_ndjson_reads_per_s": ndjson, "ratio_raw": eng / raw, "ratio_naive": eng / naive,
        "ratio_batched_naive": batched / naive, "alerts": eng_alerts, "batched_alerts": batched_alerts,
        "ndjson_alerts": ndjson_alerts, "naive_hits": naive_hits, "exactly_once_reads_per_s": eos,
        "ratio_exactly_once": eos / eng, "exactly_once_batched_reads_per_s": eos_batched,
        "ratio_exactly_once_batched": eos_batched / batched, "exactly_once_alerts": eos_alerts,
    }  # fmt: skip
    for w in workers:
        result[f"workers_{w}_reads_per_s"] = scale_out(s, s.topics.reads, n, w)
    return result


def bench_topic_load(size: int, chunk: int = 200_000) -> dict[str, Any]:
    """Seconds from engine start to the first read matchable: the watchlist topic, holding `size`
    entries, read from the beginning and applied as the engine does (TopicFollower, load_watchlist)."""
    s = bench_settings("wlload")
    listed = listed_plates(size, seed=size + 3)
    fill_s = 0.0
    for at in range(0, size, chunk):
        entries = listed.entries(at, at + chunk)
        fill_s += fill(s, s.topics.watchlist, [e.model_dump_json().encode() for e in entries],
                       [e.entry_id.encode() for e in entries])  # fmt: skip
    del listed
    gc.collect()
    t = time.perf_counter()
    follower = TopicFollower(s, s.topics.watchlist)
    try:
        wl, refused = load_watchlist([follower], s.match)
    finally:
        follower.close()
    load_s = time.perf_counter() - t
    return {"entries": len(wl), "refused": refused, "load_s": load_s, "fill_s": fill_s}


class TimedFollower(TopicFollower):
    """A follower that records, for every record it hands over, the milliseconds since its publish
    (the record's Kafka timestamp): the engine applies what poll() returns before its next batch."""

    def __init__(self, settings: Settings, topic: str) -> None:
        super().__init__(settings, topic)
        self.lags_ms: list[float] = []

    def poll(self, most: int = 10_000) -> list[tuple[bytes | None, bytes | None]]:
        msgs = [m for m in self.consumer.consume(most, 0) if m.error() is None]
        now_ms = time.time() * 1000
        self.lags_ms += [now_ms - m.timestamp()[1] for m in msgs]
        return [(m.key(), m.value()) for m in msgs]


def bench_live_updates(n_reads: int, watchlist_size: int, rate: int = 1_000) -> dict[str, Any]:
    """Reads/s of the engine with and without `rate` watchlist upserts a second arriving from another
    process, the share of its time spent applying them, and how long after its publish each upsert
    was applied (before the next batch). On this 2-core machine the feed process and the broker's
    work for it compete with the engine for the cores, so the throughput ratio carries their cost
    too, and swings from run to run; the apply share is the engine's own cost."""
    s = bench_settings("live")
    listed = listed_plates(watchlist_size, seed=31)
    entries = listed.entries()
    fill(s, s.topics.watchlist, [e.model_dump_json().encode() for e in entries], [e.entry_id.encode() for e in entries])
    values, keys = read_values(n_reads, listed, seed=32)
    quiet, busy = s.topics.reads, s.topics.reads + ".busy"
    ensure_topics(s.model_copy(update={"topics": s.topics.model_copy(update={"reads": busy})}))
    fill(s, quiet, values, keys)
    fill(s, busy, values, keys)
    follower = TimedFollower(s, s.topics.watchlist)
    wl, _ = load_watchlist([follower], s.match)
    freeze_heap()
    try:
        without, _, _ = engine_in_process(s, quiet, n_reads, wl, follower)
        follower.lags_ms = []
        seconds = 4.0 + n_reads / 200_000  # outlasts the run
        feed = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.update_feed",
                s.bootstrap_servers,
                s.topics.watchlist,
                str(rate),
                str(seconds),
            ]
        )
        time.sleep(1.0)  # the feed is running at its rate before the reads start
        wl.apply(follower.poll())  # what came in while no engine ran is not an update lag
        follower.lags_ms = []
        under, _, apply_share = engine_in_process(s, busy, n_reads, wl, follower)
        feed.wait(timeout=seconds + 60)
    finally:
        follower.close()
    lags = sorted(follower.lags_ms)
    p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))] if lags else None
    return {
        "reads": n_reads, "updates_per_s": rate, "updates_applied_during_run": len(lags),
        "reads_per_s": without, "reads_per_s_under_updates": under, "ratio": under / without,
        "apply_share": apply_share,
        "update_p50_ms": lags[len(lags) // 2] if lags else None, "update_p99_ms": p99,
    }  # fmt: skip
