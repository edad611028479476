"""What a supervisor and Prometheus see of a running engine: `/metrics` (Prometheus text),
`/healthz` (200 while the main loop is alive) and `/readyz` (200 once the watchlist is loaded and
partitions are assigned) on one port, and a one-line summary of the same figures in the log.

Metric labels are bounded and never a read's content: list, match kind, cross-border, a dead
letter's reason kind (reads.reason_kind), a plate's rejection reason, a partition number.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from anpr_engine.codec.reads import reason_kind
from anpr_engine.engine.loop import Engine

log = logging.getLogger(__name__)

LAG_EVERY_S = 1.0


class EngineMetrics:
    """The engine's figures as Prometheus metrics in their own registry, brought up to date after
    each step of the loop (Engine.on_step): counters from the step's alerts and dead letters, the
    lag once a second, a summary line every summary_s."""

    def __init__(self, summary_s: float = 60.0) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.reads = Counter("anpr_reads", "Valid reads matched", registry=r)
        self.alerts = Counter("anpr_alerts", "Alerts sent", ["list", "kind", "cross_border"], registry=r)
        self.dlq = Counter("anpr_dlq", "Messages sent to the dead-letter topic", ["reason"], registry=r)
        self.rejected = Counter("anpr_rejected_plates", "Reads whose plate is not plate text", ["reason"], registry=r)
        self.lag = Gauge("anpr_consumer_lag", "Messages of the reads topic not consumed yet", ["partition"], registry=r)
        self.batch = Histogram(
            "anpr_batch_seconds", "Time to decode, match and send one batch", registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )  # fmt: skip
        self.latency = Histogram(
            "anpr_read_to_alert_seconds", "From a read's time to its alert being sent (retro alerts left out)",
            registry=r, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
        )  # fmt: skip
        self.entries = Gauge("anpr_watchlist_entries", "Matchable watchlist entries", ["list"], registry=r)
        self.summary_s = summary_s
        self.engine: Engine | None = None
        self.lag_of: Callable[[], dict[int, int]] = dict
        self.assigned: Callable[[], bool] = lambda: False
        self._seen: dict[str, int] = {}
        self._lag_at = self._summary_at = time.monotonic()
        self._rejected_seen: dict[str, int] = {}

    def attach(self, engine: Engine, lag_of: Callable[[], dict[int, int]], assigned: Callable[[], bool]) -> None:
        """Follow `engine` (its watchlist loaded): after this, /readyz answers 200 while assigned() holds."""
        self.engine, self.lag_of, self.assigned = engine, lag_of, assigned
        self._seen = {"reads": engine.stats.reads, "batches": engine.stats.batches}
        engine.on_step = self.step
        self._entries()

    def ready(self) -> bool:
        return self.engine is not None and self.assigned()

    def alive(self, within_s: float) -> bool:
        """The loop finished a step within_s ago (before attach: the watchlist is loading)."""
        return self.engine is None or time.monotonic() - self.engine.stepped_at < within_s

    def step(self) -> None:
        e = self.engine
        assert e is not None
        st = e.stats
        self.reads.inc(st.reads - self._seen["reads"])
        if st.batches > self._seen["batches"]:
            self.batch.observe(e.step_s)
        self._seen = {"reads": st.reads, "batches": st.batches}
        if e.sent_last:
            now_ms = time.time() * 1000
            for a in e.sent_last:
                self.alerts.labels(a.list_name, a.kind, str(a.cross_border).lower()).inc()
                if not a.retro:
                    self.latency.observe(max(0.0, (now_ms - a.ts_ms) / 1000))
        for reason in e.dead_last:
            self.dlq.labels(reason_kind(reason)).inc()
        for reason, n in st.rejected_plates.items():
            if n != self._rejected_seen.get(reason, 0):
                self.rejected.labels(reason).inc(n - self._rejected_seen.get(reason, 0))
                self._rejected_seen[reason] = n
        now = time.monotonic()
        if now - self._lag_at >= LAG_EVERY_S:
            self._lag_at = now
            for partition, behind in self.lag_of().items():
                self.lag.labels(str(partition)).set(behind)
            if st.watchlist_records:
                self._entries()
        if self.summary_s > 0 and now - self._summary_at >= self.summary_s:
            self._summary_at = now
            lag = sum(self.lag_of().values())
            log.info("summary: %s lag=%d entries=%d", st.summary(), lag, len(e.watchlist))

    def _entries(self) -> None:
        assert self.engine is not None
        self.entries.clear()
        for name, n in self.engine.watchlist.entries_per_list().items():
            self.entries.labels(name).set(n)


def serve(metrics: EngineMetrics, port: int, alive_within_s: float, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """/metrics, /healthz and /readyz of `metrics` on `port`, answered from a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._answer(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                ok = metrics.alive(alive_within_s)
                self._answer(200 if ok else 503, b"ok\n" if ok else b"main loop stalled\n")
            elif self.path == "/readyz":
                ok = metrics.ready()
                self._answer(200 if ok else 503, b"ready\n" if ok else b"not ready\n")
            else:
                self._answer(404, b"not found\n")

        def _answer(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # a probe every few seconds is not news

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="anpr-metrics", daemon=True).start()
    return server
