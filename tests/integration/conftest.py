"""Integration tests run against the real broker (ANPR_KAFKA_BOOTSTRAP, or the local one `make test` starts)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from anpr_engine.config import Settings, TopicNames
from anpr_engine.io.admin import ensure_topics
from anpr_engine.io.consumer import read_topic_to_end
from anpr_engine.io.producer import AckedProducer, new_producer

BIN = Path(sys.executable).parent


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


def cli_args(s: Settings) -> list[str]:
    t = s.topics
    return [
        "--bootstrap-servers", s.bootstrap_servers, "--reads-topic", t.reads, "--alerts-topic", t.alerts,
        "--watchlist-topic", t.watchlist, "--dlq-topic", t.dlq,
    ]  # fmt: skip


def engine_args(s: Settings) -> list[str]:
    """cli_args, and the options only `anpr-engine run` has."""
    return [*cli_args(s), "--covert-alerts-topic", s.topics.alerts_covert]


def produce(s: Settings, topic: str, items: list[tuple[bytes | None, bytes | None]]) -> None:
    out = AckedProducer(new_producer(s))
    for key, value in items:
        out.produce(topic, value, key)
    out.flush()


def topic_values(s: Settings, topic: str) -> list[bytes]:
    return [v for _, v in read_topic_to_end(s, topic) if v is not None]


def run_engine(s: Settings, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    cmd = [str(BIN / "anpr-engine"), "run", *engine_args(s), "--group-id", s.group_id, "--idle-exit-s", "3",
           "--suppress-s", "0", *extra]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=os.environ.copy(), check=False)


@pytest.fixture
def engine_proc(settings: Settings) -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
