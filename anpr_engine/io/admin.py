"""The project's topics: created when missing (an existing topic is left as it is), and checked
against the configuration (`anpr-engine topics --check`). Every function here raises the
BrokerError of anpr_engine.errors that says what went wrong (io.kafka_errors.at_boundary)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import cast

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ClusterMetadata,
    ConfigResource,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)  # fmt: skip

from anpr_engine.config import Settings, replica
from anpr_engine.errors import BrokerError
from anpr_engine.io.client_config import FOLLOWER_GROUPS, TAIL_GROUPS, admin_conf
from anpr_engine.io.kafka_errors import REFUSED, at_boundary, broker_error


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """The configuration each topic must have: retention from the settings (the compacted watchlist
    keeps every entry's last record for as long as it is listed)."""
    t, r = settings.topics, settings.retention
    return {
        t.reads: {"retention.ms": r.ms(r.reads_days)},
        t.alerts: {"retention.ms": r.ms(r.alerts_days)},
        t.alerts_covert: {"retention.ms": r.ms(r.alerts_covert_days)},
        t.watchlist: {"cleanup.policy": "compact", "retention.ms": "-1"},
        t.dlq: {"retention.ms": r.ms(r.dlq_days)},
        t.feedback: {"cleanup.policy": "compact", "retention.ms": "-1"},
        t.audit: {"retention.ms": r.ms(r.audit_days)},
        **{
            t.export(partner): {"cleanup.policy": "compact", "retention.ms": "-1",
                                "delete.retention.ms": r.ms(r.export_tombstones_days)}
            for partner in settings.federation.partners
        },
        **{t.hits(partner): {"retention.ms": r.ms(r.alerts_days)} for partner in settings.federation.matched_abroad()},
        **{
            t.hits(partner, covert=True): {"retention.ms": r.ms(r.alerts_covert_days)}
            for partner in settings.federation.matched_abroad()
        },
    }  # fmt: skip


def topic_specs(settings: Settings, brokers: int = 1) -> list[NewTopic]:
    """The topics the engine and its tools use, with their layout: on a cluster of three brokers or
    more, three replicas each and min.insync.replicas 2 (an acknowledged write survives one broker)."""
    t = settings.topics
    rf = min(3, brokers)
    isr = {"min.insync.replicas": str(max(1, rf - 1))}
    partitions = {t.reads: t.reads_partitions, t.alerts: t.reads_partitions}
    return [
        NewTopic(name, num_partitions=partitions.get(name, 1), replication_factor=rf, config={**conf, **isr})
        for name, conf in topic_configs(settings).items()
    ]


@at_boundary
def topic_differences(settings: Settings, timeout_s: float | None = None) -> list[str]:
    """One line per project topic that is missing or whose configuration differs from the settings'."""
    admin, meta = connect(settings, timeout_s)
    timeout_s = settings.flush_timeout_s if timeout_s is None else timeout_s
    want = topic_configs(settings)
    out = [f"{name}: missing" for name in want if name not in meta.topics]
    present = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in want if name in meta.topics]
    for resource, fut in (admin.describe_configs(present, request_timeout=timeout_s) if present else {}).items():
        have = fut.result(timeout=timeout_s)
        for key, value in want[resource.name].items():
            got = have[key].value if key in have else None
            if got != value:
                out.append(f"{resource.name}: {key} is {got}, the configuration says {value}")
    return out


def connect(settings: Settings, timeout_s: float | None = None) -> tuple[AdminClient, ClusterMetadata]:
    """An admin client and the cluster's metadata: the first contact of every tool with the cluster.
    Raises AccessRefused as soon as the broker refuses the credentials (librdkafka would otherwise
    retry until the timeout, and then report only a transport failure), and BrokerUnreachable if no
    broker answers within timeout_s (default: settings.flush_timeout_s). librdkafka's own lines of
    the attempts are logged at debug level only: the error says it all, once."""
    timeout_s = settings.flush_timeout_s if timeout_s is None else timeout_s
    refused: list[KafkaError] = []

    def on_error(err: KafkaError) -> None:
        if err.code() in REFUSED:
            refused.append(err)

    admin = AdminClient(admin_conf(settings, on_error, quiet=True))
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return admin, admin.list_topics(timeout=min(1.0, max(0.1, deadline - time.monotonic())))
        except KafkaException as e:
            admin.poll(0)  # serves error_cb
            if refused:
                raise broker_error(refused[0]) from e
            if time.monotonic() >= deadline:
                raise broker_error(e, f"no answer from {settings.bootstrap_servers} within {timeout_s:g} s") from e


def engine_topics(settings: Settings) -> tuple[str, ...]:
    """The topics the engine and the watchlist tools use (on a secured cluster they may see no others)."""
    t = settings.topics
    hits = [t.hits(p, covert) for p in settings.federation.matched_abroad() for covert in (False, True)]
    return t.reads, t.alerts, t.alerts_covert, t.watchlist, t.dlq, *hits


def console_topics(settings: Settings) -> tuple[str, ...]:
    t = settings.topics
    return t.alerts, t.alerts_covert, t.feedback, t.audit


def export_topics(settings: Settings) -> tuple[str, ...]:
    """The topics of the records released to each partner (federation), on this party's cluster."""
    return tuple(settings.topics.export(p) for p in settings.federation.partners)


def alerts_topics(settings: Settings) -> tuple[str, ...]:
    """The topic `anpr-alerts` follows."""
    return (settings.topics.alerts,)


@at_boundary
def ensure_topics(settings: Settings, timeout_s: float | None = None, only: Collection[str] | None = None) -> list[str]:
    """Create any missing topic (of `only`, if given), and wait until the cluster's metadata shows
    each with a leader for every partition (a topic just created is not at once: a reader would be
    told UNKNOWN_TOPIC_OR_PART); returns the names created. Waits at most timeout_s (default:
    settings.flush_timeout_s) for each step. Raises AccessRefused if this client may not create them."""
    timeout_s = settings.flush_timeout_s if timeout_s is None else timeout_s
    admin, meta = connect(settings, timeout_s)
    missing = [
        s for s in topic_specs(settings, len(meta.brokers))
        if s.topic not in meta.topics and (only is None or s.topic in only)
    ]  # fmt: skip
    if not missing:
        return []
    created = []
    for name, fut in admin.create_topics(missing, operation_timeout=timeout_s).items():
        try:
            fut.result(timeout=timeout_s)
            created.append(name)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise broker_error(e, f"creating topic {name}") from e
    _wait_until_led(admin, [s.topic for s in missing], timeout_s)
    return created


def _wait_until_led(admin: AdminClient, names: list[str], timeout_s: float) -> None:
    """Until the metadata shows every topic of `names` with a leader for each of its partitions."""
    deadline = time.monotonic() + timeout_s
    while True:
        topics = admin.list_topics(timeout=max(0.1, deadline - time.monotonic())).topics
        waiting = [
            n for n in names
            if n not in topics or topics[n].error is not None or not topics[n].partitions
            or any(p.error is not None or p.leader < 0 for p in topics[n].partitions.values())
        ]  # fmt: skip
        if not waiting:
            return
        if time.monotonic() >= deadline:
            raise BrokerError(f"kafka: topics created but without leaders after {timeout_s:g} s: {', '.join(waiting)}")
        time.sleep(0.05)


Grant = tuple[str, str, str, str, str]  # resource type, name, pattern type, principal, operation (all ALLOW)


def acl_grants(settings: Settings) -> set[Grant]:
    """The ACLs of a secured deployment (settings.access): the engine reads the reads and watchlist
    topics (and the alerts topics, read back when it takes partitions over), writes the alert and
    dead-letter topics, and commits in its group and transactions; operators read the alerts
    topic, privileged users the covert one too, gateways write the reads topic, the console reads
    both alerts topics and the feedback and writes feedback and audit; nothing else."""
    t, a, g = settings.topics, settings.access, settings.group_id
    out: set[Grant] = set()

    def grant(
        principals: tuple[str, ...], kind: str, name: str, ops: tuple[str, ...], pattern: str = "LITERAL"
    ) -> None:
        out.update((kind, name, pattern, p, op) for p in principals for op in ops)

    engine = (a.engine,)
    for topic in (t.reads, t.watchlist, t.alerts, t.alerts_covert):
        grant(engine, "TOPIC", topic, ("READ", "DESCRIBE"))
    for topic in (t.alerts, t.alerts_covert, t.dlq):
        grant(engine, "TOPIC", topic, ("WRITE", "DESCRIBE"))
    grant(engine, "GROUP", g, ("READ",))
    grant(engine + a.operators + a.privileged, "GROUP", FOLLOWER_GROUPS, ("READ",), "PREFIXED")
    grant(engine, "TRANSACTIONAL_ID", f"{g}-", ("WRITE", "DESCRIBE"), "PREFIXED")  # io.transactions
    grant(a.operators + a.privileged, "TOPIC", t.alerts, ("READ", "DESCRIBE"))
    grant(a.privileged, "TOPIC", t.alerts_covert, ("READ", "DESCRIBE"))
    grant(a.operators + a.privileged, "GROUP", TAIL_GROUPS, ("READ",), "PREFIXED")
    grant(a.gateways, "TOPIC", t.reads, ("WRITE", "DESCRIBE"))
    for topic in (t.alerts, t.alerts_covert, t.feedback):
        grant((a.console,), "TOPIC", topic, ("READ", "DESCRIBE"))
    for topic in (t.feedback, t.audit):
        grant((a.console,), "TOPIC", topic, ("WRITE", "DESCRIBE"))
    federation_grants(settings, grant)
    return out


def federation_grants(settings: Settings, grant: Callable[..., None]) -> None:
    """A party's engine reads each partner's export as MirrorMaker copies it here and writes the hits
    on that partner's entries (reading the covert ones back at take-over); its console and operators
    read the hits its partners made on its lists, privileged users the covert ones. The centre's
    console and operators read each party's alerts (and the console their verdicts)."""
    t, a, f = settings.topics, settings.access, settings.federation
    viewers = (a.console, *a.operators, *a.privileged)
    for p in f.matched_abroad():
        grant((a.engine,), "TOPIC", replica(p, t.export(str(f.party))), ("READ", "DESCRIBE"))
        grant((a.engine,), "TOPIC", t.hits(p), ("WRITE", "DESCRIBE"))
        grant((a.engine,), "TOPIC", t.hits(p, covert=True), ("READ", "WRITE", "DESCRIBE"))
        grant(viewers, "TOPIC", replica(p, t.hits(str(f.party))), ("READ", "DESCRIBE"))
        grant((a.console, *a.privileged), "TOPIC", replica(p, t.hits(str(f.party), covert=True)), ("READ", "DESCRIBE"))
    if f.role == "centre":
        for p in f.partners:
            grant(viewers, "TOPIC", replica(p, t.alerts), ("READ", "DESCRIBE"))
            grant((a.console,), "TOPIC", replica(p, t.feedback), ("READ", "DESCRIBE"))


def _binding(g: Grant) -> AclBinding:
    kind, name, pattern, principal, op = g
    return AclBinding(ResourceType[kind], name, ResourcePatternType[pattern], principal, "*", AclOperation[op],
                      AclPermissionType.ALLOW)  # fmt: skip


@at_boundary
def apply_acls(settings: Settings, timeout_s: float | None = None) -> int:
    """Create the ACLs of acl_grants (those there already stay); returns how many were asked for."""
    timeout_s = settings.flush_timeout_s if timeout_s is None else timeout_s
    admin = AdminClient(admin_conf(settings))
    bindings = [_binding(g) for g in sorted(acl_grants(settings))]
    for fut in admin.create_acls(bindings, request_timeout=timeout_s).values():
        fut.result(timeout=timeout_s)
    return len(bindings)


@at_boundary
def acl_differences(settings: Settings, timeout_s: float | None = None) -> list[str]:
    """One line per ACL of the project's topics, its group and its transactional ids that is
    missing, or there without the configuration asking for it (e.g. an operator on the covert topic)."""
    timeout_s = settings.flush_timeout_s if timeout_s is None else timeout_s
    admin = AdminClient(admin_conf(settings))
    want = acl_grants(settings)
    resources = {(kind, name) for kind, name, *_ in want}
    have: set[Grant] = set()
    anything = cast(str, None)  # None matches any name, principal, host (the client's stubs say str)
    any_filter = AclBindingFilter(ResourceType.ANY, anything, ResourcePatternType.ANY, anything, anything,
                                  AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    for b in admin.describe_acls(any_filter, request_timeout=timeout_s).result(timeout=timeout_s):
        if (b.restype.name, b.name) in resources:
            grant = (b.restype.name, b.name, b.resource_pattern_type.name, b.principal, b.operation.name)
            if b.permission_type == AclPermissionType.ALLOW:
                have.add(grant)
    missing = [f"ACL missing: {p} {op} on {kind} {name} ({pat})" for kind, name, pat, p, op in sorted(want - have)]
    extra = [f"ACL not in the configuration: {p} {op} on {kind} {name} ({pat})"
             for kind, name, pat, p, op in sorted(have - want)]  # fmt: skip
    return missing + extra
