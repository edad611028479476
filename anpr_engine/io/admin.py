"""Topic creation, idempotent: existing topics are left as they are."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from anpr_engine.config import Settings
from anpr_engine.io.client_logs import client_conf


def topic_specs(settings: Settings, brokers: int = 1) -> list[NewTopic]:
    """The topics the engine and its tools use, with their layout: on a cluster of three brokers or
    more, three replicas each and min.insync.replicas 2 (an acknowledged write survives one broker)."""
    t = settings.topics
    rf = min(3, brokers)
    isr = {"min.insync.replicas": str(max(1, rf - 1))}
    return [
        NewTopic(t.reads, num_partitions=t.reads_partitions, replication_factor=rf, config=isr),
        NewTopic(t.alerts, num_partitions=t.reads_partitions, replication_factor=rf, config=isr),
        NewTopic(t.alerts_covert, num_partitions=1, replication_factor=rf, config=isr),
        NewTopic(t.watchlist, num_partitions=1, replication_factor=rf, config={"cleanup.policy": "compact", **isr}),
        NewTopic(t.dlq, num_partitions=1, replication_factor=rf, config=isr),
    ]


def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> list[str]:
    """Create any missing topic; returns the names created."""
    admin = AdminClient(client_conf(settings, "admin"))
    meta = admin.list_topics(timeout=timeout_s)
    missing = [s for s in topic_specs(settings, len(meta.brokers)) if s.topic not in meta.topics]
    if not missing:
        return []
    created = []
    for name, fut in admin.create_topics(missing, operation_timeout=timeout_s).items():
        try:
            fut.result(timeout=timeout_s)
            created.append(name)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return created
