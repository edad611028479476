"""Topic creation, idempotent: existing topics are left as they are."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from anpr_engine.config import Settings
from anpr_engine.io.client_logs import client_conf


def topic_specs(settings: Settings) -> list[NewTopic]:
    """The topics the engine and its tools use, with their layout."""
    t = settings.topics
    return [
        NewTopic(t.reads, num_partitions=t.reads_partitions, replication_factor=1),
        NewTopic(t.alerts, num_partitions=t.reads_partitions, replication_factor=1),
        NewTopic(t.alerts_covert, num_partitions=1, replication_factor=1),
        NewTopic(t.watchlist, num_partitions=1, replication_factor=1, config={"cleanup.policy": "compact"}),
        NewTopic(t.dlq, num_partitions=1, replication_factor=1),
    ]


def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> list[str]:
    """Create any missing topic; returns the names created."""
    admin = AdminClient(client_conf(settings))
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    missing = [s for s in topic_specs(settings) if s.topic not in existing]
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
