"""/metrics carries exactly the engine's counts, /healthz answers while the loop runs, /readyz only
once the watchlist is loaded and partitions are assigned."""

from __future__ import annotations

import json
from collections import Counter

from prometheus_client.parser import text_string_to_metric_families

from anpr_engine.engine.loop import Engine
from anpr_engine.engine.metrics import EngineMetrics, serve
from anpr_engine.engine.ports import Message
from anpr_engine.models import Alert
from tests.helpers.builders import traffic_messages
from tests.helpers.fakes import ListSink, ListSource
from tests.helpers.http import http_get


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text) for s in f.samples
    }  # fmt: skip


def test_metrics_show_the_runs_counts_and_health_and_readiness_follow_the_engine() -> None:
    msgs, wl, _ = traffic_messages(400)
    msgs[5:5] = [Message(b"{broken", None, "reads", 0, 900), Message(None, None, "reads", 0, 901)]
    source, alerts = ListSource([msgs[:200], msgs[200:]]), ListSink()
    engine = Engine(wl, source, alerts, ListSink())
    metrics = EngineMetrics(summary_s=0)
    server = serve(metrics, 0, alive_within_s=60, host="127.0.0.1")
    port = server.server_address[1]
    try:
        assert http_get(port, "/healthz")[0] == 200  # loading: alive
        assert http_get(port, "/readyz")[0] == 503
        assigned = [False]
        metrics.attach(engine, lambda: {0: 7, 1: 0}, lambda: assigned[0])
        assert http_get(port, "/readyz")[0] == 503  # loaded, no partition yet
        assigned[0] = True
        assert http_get(port, "/readyz") == (200, "ready\n")
        metrics._lag_at = float("-inf")
        engine.run(max_idle_s=0)
        sent = [Alert.model_validate_json(a.value) for (batch,) in alerts.sent for a in batch]  # type: ignore[attr-defined]
        code, text = http_get(port, "/metrics")
        assert code == 200
        got = _samples(text)
        assert got["anpr_reads_total", ()] == engine.stats.reads == 400
        by = Counter((a.entry.list_name, a.match.kind.value, str(a.cross_border).lower()) for a in sent)
        alerts_shown = {k: v for k, v in got.items() if k[0] == "anpr_alerts_total"}
        assert alerts_shown == {
            ("anpr_alerts_total", (("cross_border", c), ("kind", k), ("list", li))): float(n)
            for (li, k, c), n in by.items()
        }
        assert got["anpr_dlq_total", (("reason", "invalid_read"),)] == 1
        assert got["anpr_dlq_total", (("reason", "null_value"),)] == 1
        assert got["anpr_consumer_lag", (("partition", "0"),)] == 7
        assert got["anpr_batch_seconds_count", ()] == engine.stats.batches
        assert got["anpr_read_to_alert_seconds_count", ()] == len(sent) > 0
        entries = {dict(k[1])["list"]: v for k, v in got.items() if k[0] == "anpr_watchlist_entries"}
        assert entries == {name: float(n) for name, n in wl.entries_per_list().items()} and sum(
            entries.values()
        ) == len(wl)
        assert http_get(port, "/healthz")[0] == 200
        engine.stepped_at -= 120  # the loop stuck for two minutes
        assert http_get(port, "/healthz")[0] == 503
        assert http_get(port, "/nothing")[0] == 404
    finally:
        server.shutdown()
        server.server_close()
    assert not any("plate" in json.dumps(k) for k in got)  # no label carries a read's content
