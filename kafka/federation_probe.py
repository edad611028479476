"""The Kafka client side of `kafka/kafka.sh ... --federation` (confluent_kafka, from the project's .venv).

    federation_probe.py ready BOOTSTRAP                 exit 0 if the cluster answers a metadata request
    federation_probe.py topics BOOTSTRAP SPEC...        create the missing topics: SPEC is NAME[:CONFIG=VALUE...],
                                                        partitions=N their partitions (default 1)
    federation_probe.py probe [--timeout S] LINK...     LINK is FROM=BOOTSTRAP/TOPIC>TO=BOOTSTRAP/TOPIC: a tombstone
                                                        probe produced to each source topic, waited for on its target

A probe is a tombstone of the key `federation|probe` (a delete of a key no record uses, so a reader of
the compacted topic it crosses has nothing to undo) with a header `probe` holding a fresh id: it has
crossed once a record with that id is on the replicated topic. Prints one line per link; exits 1
naming the links whose probe did not arrive in time.
"""

from __future__ import annotations

import sys
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PROBE_KEY = b"federation|probe"
QUIET = {"log_level": 3}  # errors only: the clusters may still be starting


def ready(bootstrap: str) -> int:
    try:
        meta = AdminClient({"bootstrap.servers": bootstrap, **QUIET}).list_topics(timeout=5)
    except KafkaException:
        return 1
    return 0 if meta.brokers else 1


def topics(bootstrap: str, specs: list[str]) -> int:
    admin = AdminClient({"bootstrap.servers": bootstrap, **QUIET})
    have = admin.list_topics(timeout=30).topics
    new = []
    for spec in specs:
        name, *items = spec.split(":")
        conf = dict(item.split("=", 1) for item in items)
        partitions = int(conf.pop("partitions", "1"))
        if name not in have:
            new.append(NewTopic(name, num_partitions=partitions, replication_factor=-1, config=conf))
    for name, fut in admin.create_topics(new, request_timeout=30).items() if new else ():
        try:
            fut.result(timeout=30)
        except KafkaException as e:
            if "TOPIC_ALREADY_EXISTS" not in str(e):
                raise
        print(f"kafka: created {name} on {bootstrap}")
    deadline = time.monotonic() + 30
    while new:  # until every partition of each new topic has a leader
        meta = admin.list_topics(timeout=10).topics
        new = [t for t in new if t.topic not in meta or any(p.leader < 0 for p in meta[t.topic].partitions.values())]
        if new and time.monotonic() > deadline:
            print(f"kafka: topics without a leader on {bootstrap}: {[t.topic for t in new]}", file=sys.stderr)
            return 1
        time.sleep(0.2)
    return 0


class Link:
    """One source topic and its replica on the target; `spec` is FROM=BOOTSTRAP/TOPIC>TO=BOOTSTRAP/TOPIC."""

    def __init__(self, spec: str) -> None:
        src, dst = spec.split(">")
        self.src_name, rest = src.split("=", 1)
        self.src, self.src_topic = rest.split("/")
        self.dst_name, rest = dst.split("=", 1)
        self.dst, self.dst_topic = rest.split("/")
        self.id = uuid.uuid4().hex.encode()
        self.partition = -1
        self.sent = 0.0
        self.consumer: Consumer | None = None

    def __str__(self) -> str:
        return f"{self.src_name}/{self.src_topic} -> {self.dst_name}/{self.dst_topic}"

    def send(self) -> None:
        def delivered(err: KafkaError | None, msg: Message) -> None:
            partition = msg.partition()
            if err is None and partition is not None:
                self.partition = partition

        producer = Producer({"bootstrap.servers": self.src, "enable.idempotence": True, **QUIET})
        producer.produce(self.src_topic, key=PROBE_KEY, value=None, headers=[("probe", self.id)], on_delivery=delivered)
        self.sent = time.monotonic()
        if producer.flush(30) or self.partition < 0:
            raise RuntimeError(f"probe not delivered to {self.src_topic} on {self.src}")

    def arrived(self) -> bool:
        """Reads what the target's replica has (committed) since the last call; True once the probe is there."""
        if self.consumer is None:
            admin = AdminClient({"bootstrap.servers": self.dst, **QUIET})
            meta = admin.list_topics(self.dst_topic, timeout=10).topics.get(self.dst_topic)
            if meta is None or meta.error is not None or self.partition not in meta.partitions:
                return False  # MirrorMaker has not created the replica yet
            self.consumer = Consumer({
                "bootstrap.servers": self.dst, "group.id": f"federation-probe-{self.id.decode()}",
                "enable.auto.commit": False, "isolation.level": "read_committed", "fetch.wait.max.ms": 50, **QUIET,
            })  # fmt: skip
            self.consumer.assign([TopicPartition(self.dst_topic, self.partition, OFFSET_BEGINNING)])
        for m in self.consumer.consume(1000, 0.2):
            if m.error() is None and m.key() == PROBE_KEY and dict(m.headers() or ()).get("probe") == self.id:
                return True
        return False


def probe(links: list[Link], timeout_s: float) -> int:
    for link in links:
        link.send()
    deadline = time.monotonic() + timeout_s
    waiting = list(links)
    while waiting and time.monotonic() < deadline:
        for link in list(waiting):
            if link.arrived():
                print(f"kafka: {link}: probe crossed in {time.monotonic() - link.sent:.1f} s")
                waiting.remove(link)
    for link in links:
        if link.consumer is not None:
            link.consumer.close()
    for link in waiting:
        print(f"kafka: {link}: probe not arrived within {timeout_s:g} s", file=sys.stderr)
    return 1 if waiting else 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "ready":
        return ready(argv[1])
    if len(argv) >= 2 and argv[0] == "topics":
        return topics(argv[1], argv[2:])
    if argv and argv[0] == "probe":
        args, timeout_s = argv[1:], 120.0
        if args[:1] == ["--timeout"]:
            timeout_s, args = float(args[1]), args[2:]
        return probe([Link(a) for a in args], timeout_s)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
