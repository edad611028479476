"""Helpers of the tests on the local federation (`make test-federation`, tests/federation): the
clusters' bootstrap servers, producing to and reading a cluster's topics, the mirrors, and the
settings and processes of one party."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

KAFKA_SH = Path(__file__).parents[2] / "kafka" / "kafka.sh"
BOOT = {name: os.environ.get(f"ANPR_FEDERATION_{name.upper()}", "") for name in ("nl", "be", "jc")}
ARRIVAL_S = 60.0  # the longest a record may take to cross
QUIET = {"log_level": 4}  # librdkafka's warnings and errors, not its notices

Record = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


def produce(cluster: str, topic: str, records: list[tuple[bytes, bytes | None]]) -> None:
    producer = Producer({"bootstrap.servers": BOOT[cluster], "enable.idempotence": True, **QUIET})
    for key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0


def ensure_topic(cluster: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": BOOT[cluster], **QUIET})
    if topic in admin.list_topics(timeout=30).topics:
        return
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    except KafkaException as e:
        assert "TOPIC_ALREADY_EXISTS" in str(e)


class Tail:
    """A topic of a cluster, read from the beginning (or from its end at creation); `records` holds
    what has been read so far. read_committed unless asked otherwise."""

    def __init__(self, cluster: str, topic: str, from_end: bool = False, committed: bool = True) -> None:
        self.cluster, self.topic = cluster, topic
        self.consumer = Consumer({
            "bootstrap.servers": BOOT[cluster], "group.id": f"test-federation-{uuid.uuid4().hex}", **QUIET,
            "enable.auto.commit": False, "fetch.wait.max.ms": 10,
            "isolation.level": "read_committed" if committed else "read_uncommitted",
        })  # fmt: skip
        deadline = time.monotonic() + ARRIVAL_S
        while True:  # MirrorMaker creates a replica when it first sees its source topic
            meta = self.consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is not None and meta.error is None and meta.partitions:
                break
            assert time.monotonic() < deadline, f"no topic {topic} on {cluster}"
            time.sleep(0.2)
        start = OFFSET_END if from_end else OFFSET_BEGINNING
        self.partitions = [TopicPartition(topic, p, start) for p in meta.partitions]
        self.consumer.assign(self.partitions)
        self.records: list[Record] = []

    def poll(self, timeout_s: float = 0.1) -> list[Record]:
        new = []
        for m in self.consumer.consume(1000, timeout_s):
            if m.error() is None:
                new.append(record_of(m))
        self.records += new
        return new

    def until(self, done: Callable[[list[Record]], bool], what: str, timeout_s: float = ARRIVAL_S) -> None:
        """Read until done(self.records) holds."""
        deadline = time.monotonic() + timeout_s
        while not done(self.records):
            assert time.monotonic() < deadline, f"{what}: not on {self.cluster}/{self.topic} within {timeout_s:g} s"
            self.poll(0.01)

    def to_end(self) -> list[Record]:
        """Read up to the end of every partition as it is now: by position (a transaction's marker takes
        an offset), or until nothing came for 2 s (a transaction left open holds a read_committed
        reader back, and a partition with nothing to return gives no position)."""
        ends = {p.partition: self.consumer.get_watermark_offsets(p, timeout=10)[1] for p in self.partitions}
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < 2:
            if self.poll(0.05):
                idle_since = time.monotonic()
            at = self.consumer.position([TopicPartition(self.topic, p) for p in ends])
            if all(tp.offset >= ends[tp.partition] or ends[tp.partition] == 0 for tp in at):
                break
        return self.records

    def close(self) -> None:
        self.consumer.close()


def record_of(m: Message) -> Record:
    return m.key(), m.value(), [(k, v or b"") for k, v in (m.headers() or [])]


def has(key: bytes, value: bytes | None) -> Callable[[list[Record]], bool]:
    return lambda records: any(k == key and v == value for k, v, _ in records)


def mirror(action: str, target: str) -> float:
    """stop-mirror, kill-mirror or start-mirror; returns the seconds it took."""
    t0 = time.monotonic()
    subprocess.run([str(KAFKA_SH), action, target], check=True, capture_output=True, timeout=240)
    return time.monotonic() - t0


PARTIES = ("nl", "be")


def party_env(name: str, **settings: str) -> dict[str, str]:
    """The environment of a command run as party `name` of the local federation (ANPR_ settings)."""
    partners = [p for p in PARTIES if p != name]
    return {
        **os.environ, "ANPR_KAFKA_BOOTSTRAP": BOOT[name], "ANPR_FEDERATION__PARTY": name,
        "ANPR_FEDERATION__PARTNERS": "[" + ",".join(f'"{p}"' for p in partners) + "]",
        **{f"ANPR_{k.upper()}": v for k, v in settings.items()},
    }  # fmt: skip


class Party:
    """A long-running command of one party (an engine, an exporter), its output in a file. With
    `supervised`, it is started again whenever it exits 1, as its service manager would (systemd's
    Restart=on-failure): the engine exits 1 when a Kafka client of its is wedged (anpr-engine's
    watchdog), for exactly that."""

    def __init__(
        self, name: str, log: Path, argv: list[str], ready: str, supervised: bool = False, **settings: str
    ) -> None:
        self.log, self.argv, self.env = log, argv, party_env(name, **settings)
        self.restarts = 0
        self._stopping = threading.Event()
        log.write_text("")
        self.proc = self._launch()
        deadline = time.monotonic() + 120
        while ready not in log.read_text():
            assert self.proc.poll() is None, f"{argv[0]} of {name} exited: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"{argv[0]} of {name} did not start: {log.read_text()[-2000:]}"
            time.sleep(0.2)
        if supervised:
            threading.Thread(target=self._supervise, daemon=True).start()

    def _launch(self) -> subprocess.Popen[bytes]:
        with self.log.open("a") as f:
            return subprocess.Popen(self.argv, stderr=f, stdout=f, env=self.env)

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            if self.proc.poll() == 1 and not self._stopping.is_set():
                self.restarts += 1
                with self.log.open("a") as f:
                    f.write(f"--- exited 1: started again (restart {self.restarts})\n")
                self.proc = self._launch()
            self._stopping.wait(0.5)

    def stop(self) -> None:
        self._stopping.set()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
                raise
