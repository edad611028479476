"""Tests on the local three-broker cluster (`make test-cluster`: kafka/kafka.sh up --brokers 3)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from tests.integration.conftest import settings  # noqa: F401  (the fixture, shared)

KAFKA_SH = Path(__file__).parents[2] / "kafka" / "kafka.sh"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("ANPR_KAFKA_CLUSTER") != "3":
        skip = pytest.mark.skip(reason="needs the three-broker cluster: make test-cluster")
        for item in items:
            if "cluster" in item.keywords:
                item.add_marker(skip)


def broker(action: str, node: int) -> None:
    """stop-broker, kill-broker or start-broker node 1..3 of the local cluster."""
    subprocess.run([str(KAFKA_SH), action, str(node)], check=True, capture_output=True, timeout=180)


def leader(bootstrap: str, topic: str, partition: int = 0) -> int:
    meta = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=30)
    return meta.topics[topic].partitions[partition].leader
