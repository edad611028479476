"""Running it for real, on the broker: /metrics scraped during a run shows exactly the run's counts,
/readyz answers 200 only after the watchlist is loaded, and a run logging at debug level (librdkafka
too) over reads most of which hit nothing logs none of their plates or read ids, nor a secret."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource
from prometheus_client.parser import text_string_to_metric_families

from anpr_engine.codec.reads import encode_read
from anpr_engine.config import Settings, TopicNames
from anpr_engine.models import WatchlistEntry
from anpr_simulators.traffic import Traffic, make_watchlists
from tests.helpers.http import http_get
from tests.helpers.kafka import BIN, engine_args, free_port, produce, terminate, topic_values, wait

pytestmark = pytest.mark.integration

SECRET = "s3cret-never-logged"


def _totals(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[s.name] = out.get(s.name, 0.0) + s.value
    return out


def test_metrics_readiness_and_logs_without_the_plates_of_reads_that_hit_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    s = settings
    entries: list[WatchlistEntry] = make_watchlists(20_000, 9)
    produce(s, s.topics.watchlist, [(e.entry_id.encode(), e.model_dump_json().encode()) for e in entries])
    reads = [x.read for x in Traffic(entries, seed=9, listed_share=0.05).take(3_000)]
    port = free_port()
    log = tmp_path / "engine.log"
    env = {**os.environ, "ANPR_LOG_LEVEL": "DEBUG", "ANPR_SUMMARY_INTERVAL_S": "1",
           "ANPR_KAFKA_EXTRA": json.dumps({"debug": "consumer,cgrp,topic,fetch", "sasl.password": SECRET})}  # fmt: skip
    with log.open("w") as err:
        proc = subprocess.Popen(
            [str(BIN / "anpr-engine"), "run", *engine_args(s), "--group-id", s.group_id, "--suppress-s", "0",
             "--metrics-port", str(port)], stderr=err, env=env,
        )  # fmt: skip
    try:
        ready_before_loaded = []

        def ready() -> bool:
            code, _ = http_get(port, "/readyz")
            if code == 200:
                ready_before_loaded.append("loaded in" not in log.read_text())
            return code == 200

        wait(lambda: http_get(port, "/healthz")[0] == 200, "/healthz never answered")
        assert http_get(port, "/readyz")[0] == 503
        wait(ready, "/readyz never answered 200")
        assert ready_before_loaded == [False]
        hostile = [b"{", b"null", json.dumps({"read_id": 5}).encode()]
        produce(
            s, s.topics.reads, [(r.camera_id.encode(), encode_read(r)) for r in reads] + [(b"x", v) for v in hostile]
        )
        wait(lambda: len(topic_values(s, s.topics.dlq)) == len(hostile), "dead letters missing")
        wait(lambda: _totals(http_get(port, "/metrics")[1]).get("anpr_reads_total") == len(reads), "reads not counted")
        alerts = [json.loads(v) for v in topic_values(s, s.topics.alerts)]
        shown = _totals(http_get(port, "/metrics")[1])
        assert shown["anpr_alerts_total"] == len(alerts) > 0
        assert shown["anpr_dlq_total"] == len(hostile)
        assert shown["anpr_watchlist_entries"] == len(entries)
        assert shown["anpr_consumer_lag"] == 0
        assert shown["anpr_read_to_alert_seconds_count"] == len(alerts)
        wait(lambda: "summary: " in log.read_text(), "no summary line")
    finally:
        terminate(proc)
    assert proc.returncode == 0
    text = log.read_text()
    assert "kafka" in text.lower() and "DEBUG" in text  # librdkafka's debug lines are in it
    hit = {a["read"]["read_id"] for a in alerts}
    missed = [r for r in reads if r.read_id not in hit]
    assert len(missed) > 2_000
    assert not [r.read_id for r in missed if r.read_id in text]
    assert not [r.plate_text for r in missed if r.plate_text in text]
    assert SECRET not in text


def test_created_topics_carry_the_configured_retention_and_check_reports_what_differs(tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:10]
    names = {"reads": f"r.{run}.reads", "alerts": f"r.{run}.alerts", "watchlist": f"r.{run}.wl",
             "dlq": f"r.{run}.dlq", "alerts_covert": f"r.{run}.covert"}  # fmt: skip
    env = {**os.environ, **{f"ANPR_TOPICS__{k.upper()}": v for k, v in names.items()},
           "ANPR_RETENTION__READS_DAYS": "3", "ANPR_RETENTION__DLQ_DAYS": "0.5"}  # fmt: skip
    topics = [str(BIN / "anpr-engine"), "topics"]
    done = subprocess.run(topics, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    s = Settings(topics=TopicNames(**names))
    admin = AdminClient(s.kafka_conf("admin"))
    resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names.values()]
    got = {r.name: f.result(30)["retention.ms"].value for r, f in admin.describe_configs(resources).items()}
    day = 86_400_000
    assert got == {names["reads"]: str(3 * day), names["dlq"]: str(day // 2), names["alerts"]: str(365 * day),
                   names["alerts_covert"]: str(365 * day), names["watchlist"]: "-1"}  # fmt: skip
    check = [*topics, "--check"]
    done = subprocess.run(check, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "0 differences" in done.stderr, done.stderr
    reads = ConfigResource(ConfigResource.Type.TOPIC, names["reads"],
                           incremental_configs=[ConfigEntry("retention.ms", str(90 * day),
                                                            incremental_operation=AlterConfigOpType.SET)])  # fmt: skip
    for f in admin.incremental_alter_configs([reads]).values():
        f.result(30)
    wait(
        lambda: admin.describe_configs([reads])[reads].result(30)["retention.ms"].value == str(90 * day),
        "the altered retention never showed",
    )  # the broker applies it from its metadata log, a moment later
    done = subprocess.run(check, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"topics: {names['reads']}: retention.ms is {90 * day}, the configuration says {3 * day}"]  # fmt: skip
