"""The Kafka client side of `kafka/kafka.sh ... --federation` (confluent_kafka, from the project's .venv).

    federation_probe.py [--clients FILE] COMMAND ...
    ready BOOTSTRAP                 exit 0 if the cluster answers a metadata request
    topics BOOTSTRAP SPEC...        create the missing topics: SPEC is NAME[:CONFIG=VALUE...], partitions=N
                                    their partitions (default 1)
    probe [--timeout S] LINK...     LINK is FROM=BOOTSTRAP/TOPIC>TO=BOOTSTRAP/TOPIC: a tombstone probe produced
                                    to each source topic, waited for on its target
    users BOOTSTRAP CREDENTIALS     create the SCRAM-SHA-512 users of the file CREDENTIALS (JSON:
                                    {"user": "password", ...}) that the cluster does not have
    acls BOOTSTRAP GRANT...         create the ACLs: GRANT is RESOURCE_TYPE/NAME/PRINCIPAL/OPERATION[,OPERATION...],
                                    literal, allow; and delete any other ACL of a mirror's principal (User:mirror-*)

--clients FILE (the secured federation): JSON of librdkafka properties by bootstrap servers,
{"127.0.0.1:30092": {"security.protocol": "SASL_SSL", ...}, ...}, for every client of that cluster.

A probe is a tombstone of the key `federation|probe` (a delete of a key no record uses, so a reader of
the compacted topic it crosses has nothing to undo) with a header `probe` holding a fresh id: it has
crossed once a record with that id is on the replicated topic. Prints one line per link; exits 1
naming the links whose probe did not arrive in time.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import cast

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)  # fmt: skip

PROBE_KEY = b"federation|probe"
QUIET = {"log_level": 3}  # errors only: the clusters may still be starting
Value = str | int | float | bool
CLIENTS: dict[str, dict[str, Value]] = {}  # librdkafka properties by bootstrap servers (--clients)
SCRAM_ITERATIONS = 8192
MIRROR_PRINCIPAL = "User:mirror-"  # the mirrors' principals (kafka.sh: mirror-<target>), whose ACLs `acls` owns


def conf(bootstrap: str, **extra: Value) -> dict[str, Value]:
    """A client's configuration for the cluster at `bootstrap`: its security properties, if any."""
    return {"bootstrap.servers": bootstrap, **CLIENTS.get(bootstrap, {}), **QUIET, **extra}


def ready(bootstrap: str) -> int:
    try:
        meta = AdminClient(conf(bootstrap)).list_topics(timeout=5)
    except KafkaException:
        return 1
    return 0 if meta.brokers else 1


def users(bootstrap: str, credentials_file: str) -> int:
    """Creates the users of the credentials file the cluster does not have (SCRAM-SHA-512)."""
    wanted: dict[str, str] = json.loads(Path(credentials_file).read_text(encoding="utf-8"))
    admin = AdminClient(conf(bootstrap))
    described = admin.describe_user_scram_credentials()  # every user: one future of {user: description}
    assert not isinstance(described, dict)
    have = set(described.result(timeout=30))
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    new: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(u, info, p.encode()) for u, p in sorted(wanted.items()) if u not in have
    ]
    for user, fut in admin.alter_user_scram_credentials(new).items() if new else ():
        fut.result(timeout=30)
        print(f"kafka: created user {user} on {bootstrap}")
    return 0


def acls(bootstrap: str, grants: list[str]) -> int:
    """Creates the ACLs of the grants (RESOURCE_TYPE/NAME/PRINCIPAL/OPERATION,...: literal, allow)."""
    bindings = []
    for grant in grants:
        kind, name, principal, ops = grant.split("/")
        resource = ResourceType.BROKER if kind == "CLUSTER" else ResourceType[kind]  # librdkafka's name for it
        bindings += [
            AclBinding(resource, name, ResourcePatternType.LITERAL, principal, "*", AclOperation[op],
                       AclPermissionType.ALLOW)
            for op in ops.split(",")
        ]  # fmt: skip
    admin = AdminClient(conf(bootstrap))  # kept: a future outliving its client fails
    for fut in admin.create_acls(bindings, request_timeout=30).values() if bindings else ():
        fut.result(timeout=30)
    # a mirror's ACLs are these and no others (e.g. left from an earlier configuration)
    wanted = {_key(b) for b in bindings}
    anything = cast(str, None)  # None matches any name, principal, host (the client's stubs say str)
    every = AclBindingFilter(ResourceType.ANY, anything, ResourcePatternType.ANY, anything, anything,
                             AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    stale = [
        AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation,
                         b.permission_type)
        for b in admin.describe_acls(every, request_timeout=30).result(timeout=30)
        if b.principal.startswith(MIRROR_PRINCIPAL) and _key(b) not in wanted
    ]  # fmt: skip
    for fut in admin.delete_acls(stale, request_timeout=30).values() if stale else ():
        fut.result(timeout=30)
    removed = f", {len(stale)} removed" if stale else ""
    print(f"kafka: {len(bindings)} ACLs of the federation on {bootstrap}{removed}")
    return 0


def _key(b: AclBinding) -> tuple[object, ...]:
    return b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type


def topics(bootstrap: str, specs: list[str]) -> int:
    admin = AdminClient(conf(bootstrap))
    have = admin.list_topics(timeout=30).topics
    new = []
    for spec in specs:
        name, *items = spec.split(":")
        configs = dict(item.split("=", 1) for item in items)
        partitions = int(configs.pop("partitions", "1"))
        if name not in have:
            new.append(NewTopic(name, num_partitions=partitions, replication_factor=-1, config=configs))
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

        producer = Producer(conf(self.src, **{"enable.idempotence": True}))
        producer.produce(self.src_topic, key=PROBE_KEY, value=None, headers=[("probe", self.id)], on_delivery=delivered)
        self.sent = time.monotonic()
        if producer.flush(30) or self.partition < 0:
            raise RuntimeError(f"probe not delivered to {self.src_topic} on {self.src}")

    def arrived(self) -> bool:
        """Reads what the target's replica has (committed) since the last call; True once the probe is there."""
        if self.consumer is None:
            admin = AdminClient(conf(self.dst))
            meta = admin.list_topics(self.dst_topic, timeout=10).topics.get(self.dst_topic)
            if meta is None or meta.error is not None or self.partition not in meta.partitions:
                return False  # MirrorMaker has not created the replica yet
            reader: dict[str, Value] = {
                "group.id": f"federation-probe-{self.id.decode()}", "enable.auto.commit": False,
                "isolation.level": "read_committed", "fetch.wait.max.ms": 50,
            }  # fmt: skip
            self.consumer = Consumer(conf(self.dst, **reader))
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
    if argv[:1] == ["--clients"] and len(argv) >= 2:
        CLIENTS.update(json.loads(Path(argv[1]).read_text(encoding="utf-8")))
        argv = argv[2:]
    if len(argv) >= 2 and argv[0] == "ready":
        return ready(argv[1])
    if len(argv) >= 2 and argv[0] == "topics":
        return topics(argv[1], argv[2:])
    if len(argv) == 3 and argv[0] == "users":
        return users(argv[1], argv[2])
    if len(argv) >= 2 and argv[0] == "acls":
        return acls(argv[1], argv[2:])
    if argv and argv[0] == "probe":
        args, timeout_s = argv[1:], 120.0
        if args[:1] == ["--timeout"]:
            timeout_s, args = float(args[1]), args[2:]
        return probe([Link(a) for a in args], timeout_s)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
