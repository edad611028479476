"""Reads that crossed (anpr_engine/io/crossing.py, `anpr-federation crossed`) on the local federation:
nl's reads, two of which hit (an alert on nl's anpr.alerts, which MirrorMaker copies to jc, and a hit
on be's entries on nl's anpr.hits.be, copied to be), are found in no topic of be or jc but for those
two, so nothing crossed; one more read id written into a topic of be, inside bytes that are no JSON,
is found there, by the function and by the command.

The clusters are shared with the other federation tests and kept between runs: the reads are on a
topic of this run's own with read ids of this run's own, so what other tests (or earlier runs) left
on the clusters cannot count here; the topics made here are deleted at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from anpr_engine.codec.reads import NDJSON, encode_read
from anpr_engine.config import Federation, Settings, TopicNames, replica
from anpr_engine.io.crossing import reads_crossed, scan
from anpr_engine.models import PlateRead
from anpr_simulators.traffic import Traffic, make_watchlists

pytestmark = pytest.mark.federation

BOOT = {name: os.environ.get(f"ANPR_FEDERATION_{name.upper()}", "") for name in ("nl", "be", "jc")}
ARRIVAL_S = 60.0
QUIET = {"log_level": 4}


def _produce(cluster: str, topic: str, records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    producer = Producer({"bootstrap.servers": BOOT[cluster], "enable.idempotence": True, **QUIET})
    for key, value, headers in records:
        producer.produce(topic, key=key, value=value, headers=headers)
    assert producer.flush(30) == 0


def _create(cluster: str, topic: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": BOOT[cluster], **QUIET})
    if topic in admin.list_topics(timeout=30).topics:
        return
    try:
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic].result(30)
    except KafkaException as e:
        assert "TOPIC_ALREADY_EXISTS" in str(e)


def _delete(cluster: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": BOOT[cluster], **QUIET})
    admin.delete_topics([topic])[topic].result(30)


def _arrives(cluster: str, topic: str, needle: bytes) -> None:
    """Wait until a record of `topic` on `cluster` holds `needle` (the mirror copies within seconds)."""
    consumer = Consumer({"bootstrap.servers": BOOT[cluster], "group.id": f"test-crossing-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 10, **QUIET})  # fmt: skip
    deadline = time.monotonic() + ARRIVAL_S
    try:
        while True:  # MirrorMaker creates a replica when it first sees its source topic
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is not None and meta.error is None and meta.partitions:
                break
            assert time.monotonic() < deadline, f"no topic {topic} on {cluster}"
            time.sleep(0.2)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions])
        while not any(m.error() is None and needle in (m.value() or b"") for m in consumer.consume(1000, 0.1)):
            assert time.monotonic() < deadline, f"{needle!r} not on {cluster}/{topic} within {ARRIVAL_S:g} s"
    finally:
        consumer.close()


def _alert(read: PlateRead) -> bytes:
    """A hit's alert as far as the check reads it: the read under "read"."""
    alert = {"alert_id": str(uuid.uuid4()), "read": read.model_dump(mode="json"), "entry": {"entry_id": "BE-1"}}
    return json.dumps(alert).encode()


@pytest.fixture
def run() -> Iterator[str]:
    """This run's id; the topics it names are deleted at the end."""
    run = uuid.uuid4().hex
    yield run
    for cluster, topic in (("nl", f"test.crossing.{run}.reads"), ("be", f"test.crossing.{run}.leak")):
        try:
            _delete(cluster, topic)
        except KafkaException as e:
            assert "UNKNOWN_TOPIC" in str(e)


def test_only_hits_cross_and_a_leaked_read_id_is_found(run: str) -> None:
    reads = [s.read.model_copy(update={"read_id": str(uuid.uuid4())})  # ids of this run only
             for s in Traffic(make_watchlists(20, 1), seed=11).take(20)]  # fmt: skip
    home = Settings(
        bootstrap_servers=BOOT["nl"],
        topics=TopicNames(reads=f"test.crossing.{run}.reads"),
        federation=Federation(party="nl", partners=("be",)),
    )
    abroad = [home.model_copy(update={"bootstrap_servers": BOOT[c]}) for c in ("be", "jc")]
    _create("nl", home.topics.reads, partitions=2)
    _produce("nl", home.topics.reads, [(r.camera_id.encode(), encode_read(r), []) for r in reads[:15]])
    batch = b"\n".join(encode_read(r) for r in reads[15:])  # a gateway's batch of the other five
    _produce("nl", home.topics.reads, [(b"GATEWAY", batch, [("content-type", NDJSON.encode())])])
    hit, hit_abroad, leaked = reads[0], reads[16], reads[7]
    _produce("nl", home.topics.alerts, [(hit.camera_id.encode(), _alert(hit), [])])
    _produce("nl", home.topics.hits("be"), [(hit_abroad.camera_id.encode(), _alert(hit_abroad), [])])
    _arrives("jc", replica("nl", home.topics.alerts), hit.read_id.encode())
    _arrives("be", replica("nl", home.topics.hits("be")), hit_abroad.read_id.encode())

    got = reads_crossed(home, abroad)
    assert got.crossed == frozenset(), got.where
    assert (got.reads, got.hits, got.non_hits) == (20, 2, 18)
    # every topic of the cluster is read, Kafka's and MirrorMaker's own too: the hit's replica is among them
    scanned = {topic for topic, _ in scan(abroad[0])}
    assert {replica("nl", home.topics.hits("be")), "__consumer_offsets", "__transaction_state"} <= scanned
    assert any(t.startswith("mm2-") for t in scanned) and got.scanned > 0

    leak = f"test.crossing.{run}.leak"
    _create("be", leak)
    _produce("be", leak, [(b"log", b"\x1f\x8b not json: camera saw " + leaked.read_id.encode() + b"\xff", [])])
    got = reads_crossed(home, abroad)
    assert got.crossed == {leaked.read_id}
    assert (got.reads, got.hits, got.non_hits) == (20, 2, 18)
    assert got.where[leaked.read_id] == f"{BOOT['be']}/{leak}"

    cmd = [sys.executable, "-c", "from anpr_engine.cli.federation import app; app()", "crossed",
           "--home", BOOT["nl"], "--abroad", BOOT["be"], "--abroad", BOOT["jc"], "--reads-topic", home.topics.reads,
           "--partner", "be"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["reads=20 hits=2 non_hits=18 crossed=1"]
    assert done.stderr.splitlines() == [f"crossed: read {leaked.read_id} on {BOOT['be']}/{leak}"]
