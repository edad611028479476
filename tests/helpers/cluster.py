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
