"""Tests on the local federation (`make test-federation`: kafka/kafka.sh up --federation, and
--federation --secure for test_federation_secure.py)."""

from __future__ import annotations

import os

import pytest

SECURE_FILE = "test_federation_secure.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    plain = pytest.mark.skip(reason="needs the local federation: make test-federation")
    secure = pytest.mark.skip(reason="needs the secured local federation: make test-federation")
    for item in items:
        # the marker, not item.keywords: those hold folder names too, and tests/unit/federation exists
        if item.get_closest_marker("federation") is None:
            continue
        if item.path.name == SECURE_FILE:
            if not os.environ.get("ANPR_FEDERATION_SECURE_NL"):
                item.add_marker(secure)
        elif not os.environ.get("ANPR_FEDERATION_NL"):
            item.add_marker(plain)
