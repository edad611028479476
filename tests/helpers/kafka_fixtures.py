"""Fixtures of the tests against the real broker: fresh topics per test, engine processes ended after it.

Loaded for every test (tests/conftest.py), so it imports only what its fixtures need: the helpers
that start engines import the whole engine, and are named here for typing only."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from anpr_engine.config import Settings, TopicNames
from anpr_engine.io.admin import ensure_topics

if TYPE_CHECKING:
    from tests.helpers.kafka import Engine


@pytest.fixture
def settings() -> Settings:
    """Fresh topics and group for one test, created on the broker."""
    run = uuid.uuid4().hex[:10]
    topics = TopicNames(
        reads=f"t.{run}.reads",
        alerts=f"t.{run}.alerts",
        watchlist=f"t.{run}.watchlist",
        dlq=f"t.{run}.dlq",
        alerts_covert=f"t.{run}.covert",
    )
    s = Settings(topics=topics, group_id=f"t.{run}.engine")
    ensure_topics(s)
    return s


@pytest.fixture
def engine_proc(settings: Settings) -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    running: list[Engine] = []
    yield running
    for e in running:
        if e.proc.poll() is None:
            e.proc.kill()
