"""Tests on the local federation (`make test-federation`: kafka/kafka.sh up --federation)."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.environ.get("ANPR_FEDERATION_NL"):
        skip = pytest.mark.skip(reason="needs the local federation: make test-federation")
        for item in items:
            # the marker, not item.keywords: those hold folder names too, and tests/unit/federation exists
            if item.get_closest_marker("federation") is not None:
                item.add_marker(skip)
