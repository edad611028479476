"""On the secured local broker (`kafka/kafka.sh up --secure`: TLS, SCRAM-SHA-512, the standard
authorizer): the engine works end to end as its own principal with the ACLs `anpr-engine topics
--acls` sets; a wrong password is one clear line and a non-zero exit within seconds; an operator
cannot read the covert topic, a gateway cannot read alerts, a client without credentials gets
nothing; `topics --check` reports an ACL the configuration does not ask for."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)  # fmt: skip

from anpr_engine.config import Settings, TopicNames
from anpr_engine.models import Category, WatchlistEntry
from tests.helpers.kafka import BIN, produce, read_now, topic_values, within

pytestmark = pytest.mark.integration

KAFKA = Path(__file__).parents[2] / "kafka"
STATE = KAFKA.parent / ".kafka-secure"
BOOTSTRAP = f"127.0.0.1:{os.environ.get('ANPR_KAFKA_SECURE_PORT', '9192')}"


@pytest.fixture(scope="module")
def secured() -> Iterator[dict[str, str]]:
    """The secured broker, started here (and stopped after) if none runs, and each user's password."""
    STATE.mkdir(exist_ok=True)
    env = {**os.environ, "ANPR_KAFKA_HEAP": "512m"}
    env.pop("ANPR_KAFKA_BOOTSTRAP", None)
    up = subprocess.run([str(KAFKA / "kafka.sh"), "up", "--secure"], env=env, capture_output=True, text=True,
                        timeout=240, check=False)  # fmt: skip
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield json.loads((STATE / "credentials.json").read_text())
    finally:
        if "starting Kafka" in up.stdout:  # started here: stopped here (make test runs this file on one worker)
            subprocess.run([str(KAFKA / "kafka.sh"), "down", "--secure"], env=env, timeout=60, check=False)


def as_user(user: str, password: str, topics: TopicNames, **extra: object) -> Settings:
    security = {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": user,
                "sasl.password": password, "ssl.ca.location": str(STATE / "tls" / "ca.pem")}  # fmt: skip
    return Settings(bootstrap_servers=BOOTSTRAP, topics=topics, kafka_extra=security, **extra)  # type: ignore[arg-type]


def env_of(s: Settings) -> dict[str, str]:
    """The environment that gives a command the settings `s` (its principal and topics)."""
    t = s.topics
    extra = {k: v.get_secret_value() if hasattr(v, "get_secret_value") else v for k, v in s.kafka_extra.items()}
    names = {
        f"ANPR_TOPICS__{k.upper()}": getattr(t, k) for k in ("reads", "alerts", "watchlist", "dlq", "alerts_covert")
    }
    return {
        **os.environ,
        "ANPR_KAFKA_BOOTSTRAP": s.bootstrap_servers,
        "ANPR_KAFKA_EXTRA": json.dumps(extra),
        "ANPR_GROUP_ID": s.group_id,
        "ANPR_ACCESS__ACLS": "true",
        **names,
    }


def _run(args: list[str], s: Settings, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env_of(s), capture_output=True, text=True, timeout=timeout, check=False)


def _check_until(admin: Settings, code: int) -> subprocess.CompletedProcess[str]:
    """`topics --check` run until it exits `code`: the broker applies ACLs from its metadata log, a moment later."""
    found: list[subprocess.CompletedProcess[str]] = []

    def done() -> bool:
        found.append(_run([str(BIN / "anpr-engine"), "topics", "--check"], admin))
        return found[-1].returncode == code

    assert within(done, 30), f"topics --check never exited {code}: {found[-1].stdout}{found[-1].stderr}"
    return found[-1]


@pytest.fixture
def topics() -> TopicNames:
    run = uuid.uuid4().hex[:10]
    return TopicNames(reads=f"s.{run}.reads", alerts=f"s.{run}.alerts", watchlist=f"s.{run}.wl", dlq=f"s.{run}.dlq",
                      alerts_covert=f"s.{run}.covert")  # fmt: skip


def test_the_engine_works_over_tls_with_scram_and_every_principal_gets_only_what_its_acls_allow(
    secured: dict[str, str], topics: TopicNames
) -> None:
    admin = as_user("admin", secured["admin"], topics, group_id=f"g.{topics.reads}")
    done = _run([str(BIN / "anpr-engine"), "topics", "--acls"], admin)
    assert done.returncode == 0, done.stderr
    check = _check_until(admin, 0)
    assert "0 differences" in check.stderr, check.stdout + check.stderr
    entry = WatchlistEntry(entry_id="e1", plate="12-BD-34", list_name="stolen", agency="Politie", agency_country="NL",
                           category=Category.STOLEN_VEHICLE)  # fmt: skip
    produce(admin, topics.watchlist, [(b"e1", entry.model_dump_json().encode())])
    gateway = as_user("gateway", secured["gateway"], topics)
    produce(gateway, topics.reads, [(b"c", read_now("r1", "12 BD 34")), (b"c", read_now("r2", "99 XZ 11"))])
    engine = as_user("engine", secured["engine"], topics, group_id=admin.group_id)
    run = _run([str(BIN / "anpr-engine"), "run", "--idle-exit-s", "3", "--suppress-s", "0"], engine)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "reads=2 alerts=1" in run.stderr
    operator = as_user("operator", secured["operator"], topics)
    shown = _run([str(BIN / "anpr-alerts"), "--from-beginning", "--json", "--idle-timeout-s", "5"], operator)
    assert shown.returncode == 0, shown.stderr
    assert [json.loads(line)["read"]["read_id"] for line in shown.stdout.splitlines()] == ["r1"]
    # the covert topic: not for an operator; the alerts topic: not for a gateway
    for who, topic in ((operator, topics.alerts_covert), (gateway, topics.alerts)):
        refused = _run([str(BIN / "anpr-alerts"), "--alerts-topic", topic, "--from-beginning", "--idle-timeout-s",
                        "20"], who)  # fmt: skip
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "AUTHORIZATION_FAILED" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    privileged = as_user("privileged", secured["privileged"], topics)
    assert topic_values(privileged, topics.alerts_covert) == []  # readable (and empty) for the privileged
    # an ACL the configuration does not ask for is reported
    extra = AclBinding(ResourceType.TOPIC, topics.alerts_covert, ResourcePatternType.LITERAL, "User:operator", "*",
                       AclOperation.READ, AclPermissionType.ALLOW)  # fmt: skip
    client = AdminClient(admin.kafka_conf("admin"))
    for f in client.create_acls([extra]).values():
        f.result(30)
    check = _check_until(admin, 1)
    line = f"topics: ACL not in the configuration: User:operator READ on TOPIC {topics.alerts_covert} (LITERAL)"
    assert check.stdout.splitlines() == [line]


def test_a_wrong_password_exits_non_zero_within_seconds_with_one_line(
    secured: dict[str, str], topics: TopicNames
) -> None:
    wrong = as_user("engine", "not-" + secured["engine"], topics)
    t = time.monotonic()
    done = _run([str(BIN / "anpr-engine"), "run", "--idle-exit-s", "3"], wrong, timeout=60)
    took = time.monotonic() - t
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Authentication failed" in errors[0], done.stderr
    assert secured["engine"] not in done.stderr
    print(f"\nFIGURES wrong password: exit {done.returncode} after {took:.1f} s")


def test_a_client_without_credentials_gets_nothing(secured: dict[str, str], topics: TopicNames) -> None:
    for security in ({"security.protocol": "SSL", "ssl.ca.location": str(STATE / "tls" / "ca.pem")},
                     {"security.protocol": "PLAINTEXT"}):  # fmt: skip
        c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "nobody", **security})
        try:
            with pytest.raises(KafkaException):
                c.list_topics(timeout=4)
        finally:
            c.close()
