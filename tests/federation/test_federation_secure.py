"""The secured local federation (`make test-federation`: kafka/kafka.sh up --federation --secure,
docs/federation.md#secured-federation): clusters nl, be and jc on TLS, SCRAM-SHA-512 and ACLs, each
mirror logging in as mirror-<target> with only the ACLs MirrorMaker needs.

- the mirror into be, on its source nl, reads the topics of its link and nothing else: not
  `anpr.reads`, not the topics of the link into jc; it sees no other topic, and writes nothing there;
- on its target be it writes the replicas and its own topics only: not `anpr.reads`, and it cannot
  create a replica of a topic that is not one of its links;
- a record still crosses every kind of link through the secured mirrors, produced and read by the
  principals the federation's ACLs name (the engine writes hits for a partner, the partner's
  operator reads them, the privileged user the covert ones, the engine reads a partner's export
  through the project's own Settings and reader; the centre's privileged user the alerts);
- an operator cannot read the covert hits made abroad;
- a user of one cluster is nobody on another: nl's engine cannot read be's reads;
- what kafka.sh grants the engine, operators, privileged users and the console on the federation's
  topics is what the project's own ACLs (`anpr-engine topics --acls` with federation.party) grant.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import cast

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)  # fmt: skip

from anpr_engine.config import Federation, Settings
from anpr_engine.io.admin import Grant, acl_grants, apply_acls
from anpr_engine.io.client_config import TAIL_GROUPS
from anpr_engine.io.topic_readers import read_topic_to_end

pytestmark = pytest.mark.federation

BOOT = {name: os.environ.get(f"ANPR_FEDERATION_SECURE_{name.upper()}", "") for name in ("nl", "be", "jc")}
STATE = Path(os.environ.get("ANPR_FEDERATION_SECURE_STATE", Path(__file__).parents[2] / ".kafka-federation-secure"))
ARRIVAL_S = 60.0  # the longest a record may take to cross
QUIET = {"log_level": 3}  # librdkafka's errors only: the refusals below are expected
REFUSED = KafkaError.TOPIC_AUTHORIZATION_FAILED
FEDERATION = {  # each cluster's place in kafka/federation.conf, as its settings say it
    "nl": Federation(party="nl", partners=("be",)),
    "be": Federation(party="be", partners=("nl",)),
    "jc": Federation(party="jc", role="centre", partners=("nl", "be")),
}

Value = str | int | float | bool


def security(cluster: str, user: str) -> dict[str, Value]:
    """The librdkafka properties of `user` on `cluster` that kafka.sh wrote (clients/USER.json)."""
    props: dict[str, Value] = json.loads((STATE / cluster / "clients" / f"{user}.json").read_text())
    return props


def conf(cluster: str, user: str, extra: dict[str, Value] | None = None) -> dict[str, Value]:
    """A client's configuration: `user` of `cluster` on that cluster, and the properties `extra`."""
    return {"bootstrap.servers": BOOT[cluster], **security(cluster, user), **QUIET, **(extra or {})}


def _reader(cluster: str, user: str, extra: dict[str, Value] | None = None) -> Consumer:
    """A consumer of assigned partitions. librdkafka still looks up its group's coordinator: the group
    is named as the project's tails' are (the project's ACLs let operators use those), and where the
    user may use no group (a mirror) that lookup's GROUP_AUTHORIZATION_FAILED is all it costs."""
    group = f"{TAIL_GROUPS}test-federation-secure-{uuid.uuid4().hex}"
    return Consumer(conf(cluster, user, {"group.id": group, "enable.auto.commit": False, **(extra or {})}))


def _error(m: Message) -> KafkaError | None:
    """The message's error, but for those that say nothing about reading the topic."""
    err = m.error()
    if err is None or err.code() in (KafkaError._PARTITION_EOF, KafkaError.GROUP_AUTHORIZATION_FAILED):
        return None
    return err


def _create(cluster: str, user: str, topic: str) -> None:
    admin = AdminClient(conf(cluster, user))  # kept: a future outliving its client fails
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)


@pytest.fixture(scope="module", autouse=True)
def clusters() -> None:
    """On each cluster, the project's own ACLs outside the federation (`anpr-engine topics --acls` as
    its admin without federation settings: the engine's, operators' and the console's on the project's
    topics and groups; the federation's topics are kafka.sh's), and `anpr.reads` with a record: what
    must not be read is there to be read."""
    for cluster in BOOT:
        apply_acls(Settings(bootstrap_servers=BOOT[cluster], kafka_extra=security(cluster, "admin")))
        if "anpr.reads" not in AdminClient(conf(cluster, "admin")).list_topics(timeout=30).topics:
            try:
                _create(cluster, "admin", "anpr.reads")
            except KafkaException as e:
                assert "TOPIC_ALREADY_EXISTS" in str(e)
        _produce(cluster, "admin", "anpr.reads", b"camera-1", b'{"read_id": "r"}')


def _produce(cluster: str, user: str, topic: str, key: bytes, value: bytes | None) -> KafkaError | None:
    """Produces one record as `user`; returns the delivery error (None: delivered). Not idempotent, so
    that a refusal is the topic's, not the producer id's."""
    errors: list[KafkaError | None] = []
    producer = Producer(conf(cluster, user, {"enable.idempotence": False, "acks": "all", "message.timeout.ms": 15000}))
    producer.produce(topic, key=key, value=value, on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(30)
    assert len(errors) == 1, f"no delivery report for {topic} on {cluster}"
    return errors[0]


def _read_error(cluster: str, user: str, topic: str, timeout_s: float = 20) -> KafkaError | None:
    """Reads partition 0 of `topic` from its beginning as `user`: None once a record was read, else the
    error. A topic the user may not describe is refused at its metadata (TOPIC_AUTHORIZATION_FAILED,
    whether it exists or not), before any fetch: librdkafka then fetches nothing and says nothing."""
    consumer = _reader(cluster, user)
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        if meta.error is not None:
            return meta.error
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for m in consumer.consume(100, 0.5):
                if m.error() is None or _error(m) is not None:
                    return _error(m)
        raise AssertionError(f"neither a record nor an error from {cluster}/{topic} as {user} within {timeout_s:g} s")
    finally:
        consumer.close()


def _until(cluster: str, user: str, topic: str, key: bytes) -> Message:
    """Reads `topic` from its beginning as `user` until the record of `key` is there."""
    consumer = _reader(cluster, user, {"isolation.level": "read_committed"})
    try:
        deadline = time.monotonic() + ARRIVAL_S
        while True:  # the replica exists once the mirror has seen its source topic
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is not None and meta.error is None and meta.partitions:
                break
            assert time.monotonic() < deadline, f"no topic {topic} on {cluster} for {user}"
            time.sleep(0.2)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions])
        while time.monotonic() < deadline:
            for m in consumer.consume(1000, 0.2):
                assert _error(m) is None, f"{cluster}/{topic} as {user}: {m.error()}"
                if m.error() is None and m.key() == key:
                    return m
        raise AssertionError(f"{key!r} not on {cluster}/{topic} within {ARRIVAL_S:g} s")
    finally:
        consumer.close()


LINKS_FROM_NL = {
    "be": {"anpr.export.be", "anpr.hits.be", "anpr.hits.covert.be"},
    "jc": {"anpr.alerts", "anpr.alerts.feedback"},
}


def test_the_mirror_reads_the_topics_of_its_link_on_the_source_and_nothing_else() -> None:
    assert _read_error("nl", "mirror-be", "anpr.export.be") is None  # readable: kafka.sh's probes are there
    for user, topic in (("mirror-be", "anpr.reads"), ("mirror-be", "anpr.alerts"), ("mirror-jc", "anpr.reads"),
                        ("mirror-jc", "anpr.export.be"), ("mirror-jc", "anpr.hits.covert.be")):  # fmt: skip
        err = _read_error("nl", user, topic)
        assert err is not None and err.code() == REFUSED, f"{user} reading nl/{topic}: {err}"
    # and it sees no other topic of nl at all
    for target, topics in LINKS_FROM_NL.items():
        names = set(AdminClient(conf("nl", f"mirror-{target}")).list_topics(timeout=30).topics)
        assert names == topics, f"mirror-{target} sees {sorted(names)} on nl"


def test_the_mirror_writes_nothing_into_its_source() -> None:
    for topic in ("anpr.export.be", "anpr.reads"):
        err = _produce("nl", "mirror-be", topic, b"k", b"{}")
        assert err is not None and err.code() == REFUSED, f"mirror-be writing nl/{topic}: {err}"
    with pytest.raises(KafkaException, match="TOPIC_AUTHORIZATION_FAILED"):
        _create("nl", "mirror-be", "be.anpr.reads")


def test_the_mirror_writes_only_the_replicas_of_its_links_on_its_target() -> None:
    for topic in ("anpr.reads", "nl.anpr.alerts"):  # be's own reads; a replica of a link that goes to jc, not be
        err = _produce("be", "mirror-be", topic, b"k", b"{}")
        assert err is not None and err.code() == REFUSED, f"mirror-be writing be/{topic}: {err}"
    # a mirror copying a topic it must not could not even make the replica
    with pytest.raises(KafkaException, match="TOPIC_AUTHORIZATION_FAILED"):
        _create("be", "mirror-be", "nl.anpr.reads")
    assert "nl.anpr.reads" not in AdminClient(conf("be", "admin")).list_topics(timeout=30).topics


CROSSINGS = [  # (source, producer there, topic, target, reader there): every kind of link
    ("nl", "engine", "anpr.hits.be", "be", "operator"),
    ("nl", "engine", "anpr.hits.covert.be", "be", "privileged"),
    ("be", "admin", "anpr.alerts.feedback", "jc", "admin"),  # the verdicts: the centre's console's (no user here)
    ("nl", "admin", "anpr.alerts", "jc", "privileged"),
]


@pytest.mark.parametrize(("source", "producer", "topic", "target", "reader"), CROSSINGS,
                         ids=[f"{s}-{t}-{x}" for s, _, x, t, _ in CROSSINGS])  # fmt: skip
def test_a_record_crosses_the_secured_mirror(source: str, producer: str, topic: str, target: str, reader: str) -> None:
    key, value = f"k-{uuid.uuid4().hex}".encode(), f'{{"id": "{uuid.uuid4().hex}"}}'.encode()
    assert _produce(source, producer, topic, key, value) is None
    assert _until(target, reader, f"{source}.{topic}", key).value() == value


def test_the_engine_reads_the_export_of_its_partner_through_the_project_settings() -> None:
    """The engine of nl, with the project's own Settings from kafka.sh's clients/engine.json (as
    ANPR_KAFKA_EXTRA would give them) and its own topic reader, reads what be released to nl."""
    key = f"entry-{uuid.uuid4().hex}".encode()
    assert _produce("be", "admin", "anpr.export.nl", key, b'{"entry_id": "e"}') is None
    _until("nl", "admin", "be.anpr.export.nl", key)  # crossed
    settings = Settings(bootstrap_servers=BOOT["nl"], kafka_extra=security("nl", "engine"))
    assert key in {k for k, _ in read_topic_to_end(settings, "be.anpr.export.nl")}


def test_an_operator_cannot_read_the_covert_hits_made_abroad() -> None:
    err = _read_error("be", "operator", "nl.anpr.hits.covert.be")
    assert err is not None and err.code() == REFUSED, f"operator reading be/nl.anpr.hits.covert.be: {err}"


def _login_errors(cluster: str, user: str, on: str) -> list[KafkaError]:
    """The errors of a consumer of `anpr.reads` on cluster `on`, with the credentials of `user` of `cluster`."""
    errors: list[KafkaError] = []
    group = f"{TAIL_GROUPS}test-federation-secure-{uuid.uuid4().hex}"
    client = conf(cluster, user, {"bootstrap.servers": BOOT[on], "group.id": group, "log_level": 0})  # refused: quiet
    consumer = Consumer({**client, "error_cb": errors.append})
    try:
        consumer.assign([TopicPartition("anpr.reads", 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + 20
        while not errors and time.monotonic() < deadline:
            assert all(m.error() is not None for m in consumer.consume(100, 0.5)), f"a record of {on}'s reads"
    finally:
        consumer.close()
    return errors


def test_a_user_of_one_cluster_is_nobody_on_another() -> None:
    """nl's engine cannot read be's reads: its credentials are nl's, and be does not take them (be has
    an engine user of its own, with another password); nor has the mirror into be a user on jc."""
    for cluster, user, on in (("nl", "engine", "be"), ("nl", "mirror-be", "jc")):
        errors = _login_errors(cluster, user, on)
        assert errors and errors[0].code() == KafkaError._AUTHENTICATION, f"{cluster}'s {user} on {on}: {errors}"
        assert "SASL authentication error" in errors[0].str(), errors[0].str()


def _federation_grants(cluster: str) -> set[Grant]:
    """The project's ACLs on the federation's topics for `cluster` (anpr_engine.io.admin.acl_grants)."""
    federated = Settings(bootstrap_servers=BOOT[cluster], federation=FEDERATION[cluster])
    return acl_grants(federated) - acl_grants(Settings(bootstrap_servers=BOOT[cluster]))


@pytest.mark.parametrize("cluster", list(BOOT))
def test_kafka_sh_grants_on_the_federation_topics_what_the_project_does(cluster: str) -> None:
    """Every ACL of a user other than a mirror on the hits topics and the replicas (named <member>.…)."""
    want = _federation_grants(cluster)
    federation_topics = ("anpr.hits.", *(f"{member}." for member in BOOT))
    admin = AdminClient(conf(cluster, "admin"))
    anything = cast(str, None)  # None matches any name, principal, host (the client's stubs say str)
    every = AclBindingFilter(ResourceType.TOPIC, anything, ResourcePatternType.ANY, anything, anything,
                             AclOperation.ANY, AclPermissionType.ALLOW)  # fmt: skip
    have = {
        ("TOPIC", b.name, b.resource_pattern_type.name, b.principal, b.operation.name)
        for b in admin.describe_acls(every, request_timeout=30).result(timeout=30)
        if not b.principal.startswith("User:mirror-") and b.name.startswith(federation_topics)
    }
    assert have == want
