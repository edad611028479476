"""Helpers of the tests on the local three-broker cluster (`make test-cluster`: kafka/kafka.sh up --brokers 3)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from confluent_kafka.admin import AdminClient

KAFKA_SH = Path(__file__).parents[2] / "kafka" / "kafka.sh"


def broker(action: str, node: int) -> None:
    """stop-broker, kill-broker or start-broker node 1..3 of the local cluster."""
    subprocess.run([str(KAFKA_SH), action, str(node)], check=True, capture_output=True, timeout=180)


def leader(bootstrap: str, topic: str, partition: int = 0) -> int:
    meta = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=30)
    return meta.topics[topic].partitions[partition].leader


def coordinator(bootstrap: str, internal_topic: str, key: str) -> int:
    """The broker coordinating `key` (a group id in __consumer_offsets, a transactional id in
    __transaction_state): the leader of the partition Kafka files it under,
    Utils.abs(key.hashCode()) % partitions; -1 while that topic does not exist yet."""
    topics = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30).topics
    if internal_topic not in topics or not topics[internal_topic].partitions:
        return -1
    partitions = topics[internal_topic].partitions
    return partitions[(_java_hash(key) & 0x7FFFFFFF) % len(partitions)].leader


def _java_hash(text: str) -> int:
    """Java's String.hashCode: over UTF-16 code units, in 32-bit arithmetic."""
    h = 0
    units = text.encode("utf-16-be")
    for i in range(0, len(units), 2):
        h = (31 * h + int.from_bytes(units[i : i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h
