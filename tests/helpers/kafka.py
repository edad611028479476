"""Helpers of the tests against the real broker (ANPR_KAFKA_BOOTSTRAP, or the local one `make test`
starts): producing and reading topics, running engine processes, waiting for conditions."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from anpr_engine.codec.reads import encode_read, reads_to_table
from anpr_engine.config import Settings
from anpr_engine.files.reads import write_reads_file
from anpr_engine.files.watchlists import write_entries
from anpr_engine.io.producer import AckedProducer, new_producer
from anpr_engine.io.topic_readers import read_topic_to_end
from anpr_engine.models import PlateRead, WatchlistEntry
from anpr_simulators.noise import NoiseModel
from anpr_simulators.traffic import Traffic, make_watchlists

BIN = Path(sys.executable).parent


def cli_args(s: Settings) -> list[str]:
    t = s.topics
    return [
        "--bootstrap-servers", s.bootstrap_servers, "--reads-topic", t.reads, "--alerts-topic", t.alerts,
        "--watchlist-topic", t.watchlist, "--dlq-topic", t.dlq,
    ]  # fmt: skip


def engine_args(s: Settings) -> list[str]:
    """cli_args, and the options only `anpr-engine run` has."""
    return [*cli_args(s), "--covert-alerts-topic", s.topics.alerts_covert]


def produce(s: Settings, topic: str, items: list[tuple[bytes | None, bytes | None]]) -> None:
    out = AckedProducer(new_producer(s))
    for key, value in items:
        out.produce(topic, value, key)
    out.flush()


def topic_values(s: Settings, topic: str) -> list[bytes]:
    return [v for _, v in read_topic_to_end(s, topic) if v is not None]


def steady(s: Settings, reads: list[PlateRead], per_s: float, chunk: int = 500) -> None:
    """Produce the reads at a steady rate, as cameras do, waiting through broker failures."""
    producer = new_producer(s, **{"message.timeout.ms": 0})
    for i in range(0, len(reads), chunk):
        for r in reads[i : i + chunk]:
            producer.produce(s.topics.reads, encode_read(r), r.camera_id.encode())
        producer.poll(0)
        time.sleep(chunk / per_s)
    assert producer.flush(300) == 0


def alert_pairs(s: Settings, topic: str | None = None) -> Counter[tuple[str, str]]:
    """How often each (read, entry) pair is on the alerts topic (read committed)."""
    alerts = map(json.loads, topic_values(s, topic or s.topics.alerts))
    return Counter((a["read"]["read_id"], a["entry"]["entry_id"]) for a in alerts)


def run_engine(s: Settings, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    cmd = [str(BIN / "anpr-engine"), "run", *engine_args(s), "--group-id", s.group_id, "--idle-exit-s", "3",
           "--suppress-s", "0", *extra]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=os.environ.copy(), check=False)


def offline_pairs(tmp: Path, entries: list[WatchlistEntry], reads: list[PlateRead]) -> set[tuple[str, str]]:
    """(read, entry) pairs of `anpr-engine match` over the same reads and watchlist, no repeat suppression."""
    write_entries(entries, tmp / "watchlist.jsonl")
    write_reads_file(reads_to_table(reads), tmp / "reads.parquet")
    out = tmp / "alerts.jsonl"
    done = subprocess.run(
        [str(BIN / "anpr-engine"), "match", "--reads", str(tmp / "reads.parquet"), "--watchlist",
         str(tmp / "watchlist.jsonl"), "--out", str(out), "--suppress-s", "0"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {(a["read"]["read_id"], a["entry"]["entry_id"]) for a in map(json.loads, out.read_text().splitlines())}


def listed_traffic(
    s: Settings, tmp: Path, seed: int, n: int, listed_share: float
) -> tuple[list[PlateRead], set[tuple[str, str]]]:
    """100 entries a country published to the watchlist topic, n noisy reads of which listed_share
    are of listed vehicles, and the (read, entry) pairs offline matching gives for them."""
    entries = make_watchlists(100, seed)
    produce(s, s.topics.watchlist, [(e.entry_id.encode(), e.model_dump_json().encode()) for e in entries])
    reads = [x.read for x in Traffic(entries, seed=seed, listed_share=listed_share, noise=NoiseModel()).take(n)]
    return reads, offline_pairs(tmp, entries, reads)


def read_now(read_id: str, plate: str) -> bytes:
    """A read of `plate` stamped now, as a camera at the Lanaken crossing sends it."""
    return json.dumps({
        "read_id": read_id, "camera_id": "BE-LANAKEN-1", "camera_country": "BE", "site": "N78 Lanaken", "lane": 0,
        "direction": "inbound", "ts_ms": int(time.time() * 1000), "plate_text": plate, "confidence": 0.9,
    }).encode()  # fmt: skip


class Engine:
    """An engine process, its stderr in a file."""

    def __init__(self, s: Settings, alerts_topic: str, group: str, log: Path, *extra: str) -> None:
        args = engine_args(s)
        args[args.index("--alerts-topic") + 1] = alerts_topic
        self.log = log
        self.alerts_topic = alerts_topic
        with log.open("w") as f:
            self.proc = subprocess.Popen(
                [str(BIN / "anpr-engine"), "run", *args, "--group-id", group, "--suppress-s", "0", *extra], stderr=f
            )
        wait(lambda: "consuming" in log.read_text(), f"{log} never started")

    def alerts(self, s: Settings) -> set[tuple[str, str]]:
        return {
            (a["read"]["read_id"], a["entry"]["entry_id"]) for a in map(json.loads, topic_values(s, self.alerts_topic))
        }

    def stop(self) -> None:
        if self.proc.poll() is None:
            terminate(self.proc)


def terminate(proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    """SIGTERM, and SIGKILL if that did not end it within timeout_s (then the test fails, and no
    process outlives it: a leaked one failed the next test with a ResourceWarning in CI)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(30)
        raise


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def within(done: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def wait(done: Callable[[], bool], why: str, timeout_s: float = 60) -> None:
    assert within(done, timeout_s), why
