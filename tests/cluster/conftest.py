"""Tests on the local three-broker cluster (`make test-cluster`: kafka/kafka.sh up --brokers 3)."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("ANPR_KAFKA_CLUSTER") != "3":
        skip = pytest.mark.skip(reason="needs the three-broker cluster: make test-cluster")
        for item in items:
            if "cluster" in item.keywords:
                item.add_marker(skip)
