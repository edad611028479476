"""`make bench-federation`: the federation's own figures, on the local federation (kafka.sh up
--federation), under camera traffic in be:

- release_to_match: an entry listed in nl on a list released to be, until a be camera's read of it
  alerts in be (nl's exporter, the mirror into be, be's engine following the replica; the camera
  reads the plate every 20 ms, so that is the resolution);
- hit_to_owner: a hit made in be (its produced_at_ms) until it is readable in nl (be.anpr.hits.nl);
- mirror cost: reads/s of a be engine over the same backlog with the mirrors running and stopped.

Merges its keys into benchmarks/results/latest.json under "federation".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition

from anpr_engine.codec.entries import EntryRows
from anpr_engine.config import Federation, Settings, TopicNames, replica
from anpr_engine.io.admin import ensure_topics
from anpr_engine.io.watchlist_topic import WatchlistWriter, load_watchlist, watchlist_followers
from anpr_engine.models import Category, WatchlistEntry, WatchlistList
from benchmarks.pipeline import engine_in_process, fill

BIN = Path(sys.executable).parent
KAFKA_SH = Path(__file__).parents[1] / "kafka" / "kafka.sh"
RESULTS = Path(__file__).parent / "results"
LETTERS = "BDFGHJKLNPRSTVXZ"
QUIET = {"log_level": 3}


def _boot(name: str) -> str:
    return (
        os.environ.get(f"ANPR_FEDERATION_{name.upper()}")
        or subprocess.run(
            [str(KAFKA_SH), "bootstrap", "--federation", name], capture_output=True, text=True, check=True
        ).stdout.strip()
    )


def _settings(name: str, partner: str, **topics: str) -> Settings:
    return Settings(
        bootstrap_servers=_boot(name), federation=Federation(party=name, partners=(partner,)),
        topics=TopicNames(**topics),
    )  # fmt: skip


def _env(s: Settings) -> dict[str, str]:
    f = s.federation
    return {
        **os.environ, "ANPR_KAFKA_BOOTSTRAP": s.bootstrap_servers, "ANPR_FEDERATION__PARTY": str(f.party),
        "ANPR_FEDERATION__PARTNERS": json.dumps(list(f.partners)), "ANPR_TOPICS__READS": s.topics.reads,
        "ANPR_WATCHLIST_INTERVAL_MS": "100", "ANPR_LOG_LEVEL": "INFO",
    }  # fmt: skip


def _start(argv: list[str], s: Settings, log: Path, ready: str) -> subprocess.Popen[bytes]:
    with log.open("w") as f:
        proc = subprocess.Popen(argv, stderr=f, stdout=f, env=_env(s))
    deadline = time.monotonic() + 120
    while ready not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{argv[0]} did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _plate(rnd: random.Random) -> str:
    c = rnd.choice
    return f"{c(LETTERS)}{c(LETTERS)}-{rnd.randrange(100, 1000)}-{c(LETTERS)}"


def _read(read_id: str, plate: str) -> bytes:
    return json.dumps({
        "read_id": read_id, "camera_id": "BE-LANAKEN-1", "camera_country": "BE", "site": "N78 Lanaken", "lane": 0,
        "direction": "inbound", "ts_ms": int(time.time() * 1000), "plate_text": plate, "confidence": 0.9,
    }).encode()  # fmt: skip


class Cameras(threading.Thread):
    """be's cameras: `rate` reads/s of vehicles on no list, and of `probe` (a plate or None) every 20 ms."""

    def __init__(self, s: Settings, run: str, rate: int) -> None:
        super().__init__(daemon=True)
        self.topic, self.tag, self.rate = s.topics.reads, run, rate
        self.producer = Producer({"bootstrap.servers": s.bootstrap_servers, "linger.ms": 5, **QUIET})
        self.probe: str | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        rnd = random.Random(self.tag)
        i, tick = 0, 0.02
        next_at = time.monotonic()
        while not self.stopping.is_set():
            for _ in range(round(self.rate * tick)):
                self.producer.produce(self.topic, _read(f"{self.tag}-s{i}", _plate(rnd)), b"BE-LANAKEN-1")
                i += 1
            probe = self.probe
            if probe is not None:
                self.producer.produce(self.topic, _read(f"{self.tag}-p{i}", probe), b"BE-LANAKEN-1")
                i += 1
            self.producer.poll(0)
            next_at += tick
            self.stopping.wait(max(0.0, next_at - time.monotonic()))
        self.producer.flush(60)


class Tail:
    """A topic read from its end: each alert's id and the wall time it was first seen."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": f"bench-fed-{uuid.uuid4().hex}", "enable.auto.commit": False,
            "isolation.level": "read_committed", "fetch.wait.max.ms": 10, **QUIET,
        })  # fmt: skip
        meta = self.consumer.list_topics(topic, timeout=30).topics[topic]
        self.consumer.assign([TopicPartition(topic, p, OFFSET_END) for p in meta.partitions])
        self.seen: dict[str, tuple[float, dict[str, Any]]] = {}

    def poll(self, timeout_s: float = 0.05) -> None:
        for m in self.consumer.consume(1000, timeout_s):
            value = m.value()
            if m.error() is None and value:
                try:
                    a = json.loads(value)
                    self.seen.setdefault(a["alert_id"], (time.time(), a))
                except (ValueError, KeyError, TypeError):
                    continue

    def of_entry(self, entry_id: str) -> tuple[float, dict[str, Any]] | None:
        return next((x for x in self.seen.values() if x[1]["entry"]["entry_id"] == entry_id), None)


def _p(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 3) if len(values) > 1 else values[0]


def latencies(samples: int, rate: int, tmp: Path) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    nl = _settings("nl", "be")
    be = _settings("be", "nl", reads=f"bench.fed.{run}.reads")
    ensure_topics(be, only=[be.topics.reads])
    exporter = _start([str(BIN / "anpr-watchlist"), "export", "--follow"], nl, tmp / "exporter.log", "following")
    engine = _start(
        [str(BIN / "anpr-engine"), "run", "--group-id", f"bench-fed-{run}", "--suppress-s", "0"], be,
        tmp / "engine.log", "consuming",
    )  # fmt: skip
    alerts_be = Tail(be.bootstrap_servers, be.topics.alerts)
    back_nl = Tail(nl.bootstrap_servers, replica("be", nl.topics.hits("nl")))
    cameras = Cameras(be, run, rate)
    cameras.start()
    writer = WatchlistWriter(nl)
    name = f"bench-{run}"
    writer.list_record(WatchlistList(
        record="list", list_name=name, agency="Politie Limburg", agency_country="NL", release_to=("be",),
    ))  # fmt: skip
    rnd = random.Random(run)
    to_match: list[float] = []
    to_owner: list[float] = []
    try:
        for k in range(samples):
            entry = WatchlistEntry(
                entry_id=f"{run}-{k}", plate=_plate(rnd), list_name=name, agency="Politie Limburg",
                agency_country="NL", category=Category.STOLEN_VEHICLE,
            )  # fmt: skip
            t0 = time.time()
            writer.entries(EntryRows.of([entry]))
            cameras.probe = entry.plate
            deadline = time.monotonic() + 60
            while (hit := alerts_be.of_entry(entry.entry_id)) is None and time.monotonic() < deadline:
                alerts_be.poll()
            cameras.probe = None
            if hit is None:
                raise RuntimeError(f"entry {entry.entry_id} never matched in be")
            to_match.append(hit[0] - t0)
            alert_id, produced = hit[1]["alert_id"], hit[1]["produced_at_ms"] / 1000
            while alert_id not in back_nl.seen and time.monotonic() < deadline + 60:
                back_nl.poll()
            if alert_id not in back_nl.seen:
                raise RuntimeError(f"the hit {alert_id} never reached nl")
            to_owner.append(back_nl.seen[alert_id][0] - produced)
    finally:
        cameras.stopping.set()
        cameras.join(60)
        _stop(engine)
        _stop(exporter)
    return {
        "samples": samples, "camera_reads_per_s": rate,
        "release_to_match_p50_s": _p(to_match, 50), "release_to_match_p99_s": _p(to_match, 99),
        "release_to_match_max_s": round(max(to_match), 3),
        "hit_to_owner_p50_s": _p(to_owner, 50), "hit_to_owner_p99_s": _p(to_owner, 99),
        "hit_to_owner_max_s": round(max(to_owner), 3),
    }  # fmt: skip


def mirror_cost(n_reads: int) -> dict[str, Any]:
    """Reads/s of a be engine over one backlog, twice with the mirrors running and twice with them stopped,
    alternating, after a warm-up run."""
    run = uuid.uuid4().hex[:8]
    be = _settings("be", "nl", reads=f"bench.fed.{run}.backlog")
    ensure_topics(be, only=[be.topics.reads])
    rnd = random.Random(run)
    values = [_read(f"{run}-b{i}", _plate(rnd)) for i in range(n_reads)]
    fill(be, be.topics.reads, values, [b"BE-LANAKEN-1"] * n_reads)
    with_mirror: list[float] = []
    without: list[float] = []
    for step, mirrors in enumerate((None, True, False, True, False)):  # None: a warm-up (numba compiles), not counted
        if mirrors is False:
            for target in ("be", "nl", "jc"):
                subprocess.run([str(KAFKA_SH), "stop-mirror", target], check=True, capture_output=True)
        try:
            s = be.model_copy(update={"group_id": f"bench-fed-{run}-{step}"})
            with ExitStack() as stack:
                table, _ = load_watchlist(watchlist_followers(s, stack), s.match, "be")
            rate, _, _ = engine_in_process(s, s.topics.reads, n_reads, table)
        finally:
            if mirrors is False:
                for target in ("be", "nl", "jc"):
                    subprocess.run([str(KAFKA_SH), "start-mirror", target], check=True, capture_output=True)
        if mirrors is not None:
            (with_mirror if mirrors else without).append(rate)
    return {
        "reads": n_reads, "reads_per_s_with_mirrors": round(statistics.mean(with_mirror)),
        "reads_per_s_without_mirrors": round(statistics.mean(without)),
        "ratio_with_to_without": round(statistics.mean(with_mirror) / statistics.mean(without), 3),
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=40, help="entries released one after the other")
    p.add_argument("--rate", type=int, default=1000, help="be's camera reads/s meanwhile")
    p.add_argument("--backlog", type=int, default=300_000, help="reads of the mirror-cost runs")
    p.add_argument("--out", type=Path, default=RESULTS, help="results folder (latest.json is merged into)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {**latencies(args.samples, args.rate, Path(tmp)), "mirror_cost": mirror_cost(args.backlog)}
    print(json.dumps(result, indent=2))
    latest = args.out / "latest.json"
    data = json.loads(latest.read_text()) if latest.exists() else {}
    data["federation"] = result
    args.out.mkdir(parents=True, exist_ok=True)
    latest.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
