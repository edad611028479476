"""Latency: reads offered at fixed rates to a running engine; for every alert, the time from the read's
timestamp (set when it was produced) to the alert's arrival at a consumer."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import numpy as np
from confluent_kafka import Consumer

from anpr_engine.io.producer import AckedProducer, new_producer
from anpr_simulators.traffic import CAMERAS
from benchmarks.data import listed_plates, traffic
from benchmarks.pipeline import BIN, bench_settings


class AlertClock(threading.Thread):
    """Consumes the alerts topic and notes, per alert, arrival time minus the read's timestamp."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"lat-{uuid.uuid4()}",
                                  "auto.offset.reset": "earliest", "fetch.wait.max.ms": 1})  # fmt: skip
        self.consumer.subscribe([topic])
        self.samples: list[tuple[str, float]] = []  # (read id, latency ms)
        self.last_arrival = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            m = self.consumer.poll(0.05)  # not consume(n, t): that waits for n messages or t
            if m is not None and m.error() is None:
                now = time.time() * 1000
                read = json.loads(m.value() or b"{}")["read"]
                self.samples.append((read["read_id"], now - read["ts_ms"]))
                self.last_arrival = now
        self.consumer.close()


def _template(listed_share: float, seed: int, watchlist_size: int) -> list[str]:
    listed = listed_plates(watchlist_size, seed)
    sample = traffic(20_000, listed, listed_share=listed_share, seed=seed + 1)
    out = []
    for i, (text, country) in enumerate(zip(sample.texts, sample.countries, strict=True)):
        cam = CAMERAS[i % len(CAMERAS)]
        out.append(
            f'{{{{"read_id":"{{rid}}","camera_id":"{cam.camera_id}","camera_country":"{cam.country}",'
            f'"site":"{cam.site}","lane":0,"direction":"inbound","ts_ms":{{ts}},'
            f'"plate_text":{json.dumps(text)},"plate_country":{json.dumps(country)},"confidence":0.9}}}}'
        )
    return out


def bench_latency(rates: list[int], duration_s: float, watchlist_size: int) -> list[dict[str, Any]]:
    """p50/p99/max latency per offered rate, and whether the engine kept up (all alerts in within 1 s)."""
    s = bench_settings("lat")
    listed = listed_plates(watchlist_size, seed=9)
    out = AckedProducer(new_producer(s))
    for e in listed.entries():
        out.produce(s.topics.watchlist, e.model_dump_json().encode(), e.entry_id.encode())
    out.flush()
    templates = _template(0.05, 9, watchlist_size)
    t = s.topics
    engine = subprocess.Popen(
        [str(BIN / "anpr-engine"), "run", "--bootstrap-servers", s.bootstrap_servers, "--reads-topic", t.reads,
         "--alerts-topic", t.alerts, "--watchlist-topic", t.watchlist, "--dlq-topic", t.dlq,
         "--group-id", s.group_id, "--suppress-s", "0"],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    clock = AlertClock(s.bootstrap_servers, t.alerts)
    clock.start()
    sys.setswitchinterval(0.0005)  # let the alert thread take the GIL promptly
    producer = new_producer(s, **{"linger.ms": 1})
    rows = []
    try:
        _offer(producer, t.reads, templates, "warmup", 500, 2.0)
        deadline = time.monotonic() + 120
        while not any(rid.startswith("warmup") for rid, _ in clock.samples) and time.monotonic() < deadline:
            time.sleep(0.1)
        for rate in rates:
            sent_until = _offer(producer, t.reads, templates, f"r{rate}", rate, duration_s)
            time.sleep(2.0)
            lat = np.array([ms for rid, ms in clock.samples if rid.startswith(f"r{rate}-")])
            drain_ms = max(0.0, clock.last_arrival - sent_until * 1000)
            rows.append(
                {
                    "offered_per_s": rate, "alerts": int(lat.size),
                    "p50_ms": float(np.percentile(lat, 50)) if lat.size else None,
                    "p99_ms": float(np.percentile(lat, 99)) if lat.size else None,
                    "max_ms": float(lat.max()) if lat.size else None,
                    "drain_ms": drain_ms, "kept_up": bool(lat.size and drain_ms < 1000),
                }
            )  # fmt: skip
    finally:
        engine.send_signal(signal.SIGTERM)
        engine.wait(60)
        clock.stop.set()
        clock.join(10)
    return rows


def _offer(producer: Any, topic: str, templates: list[str], tag: str, rate: int, duration_s: float) -> float:
    """Produce at `rate` reads/s for `duration_s`, stamping each read when produced; returns the end time."""
    start = time.time()
    n = int(rate * duration_s)
    i = 0
    while i < n:
        due = min(n, int((time.time() - start) * rate) + 1)
        while i < due:
            now_ms = int(time.time() * 1000)
            value = templates[i % len(templates)].format(rid=f"{tag}-{i}", ts=now_ms)
            try:
                producer.produce(topic, value.encode(), b"lat")
            except BufferError:
                producer.poll(0.001)
                continue
            i += 1
        producer.poll(0)
        time.sleep(0.0005)
    producer.flush(30)
    return time.time()
