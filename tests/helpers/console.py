"""Helpers of the console's tests: a real `anpr-console` process on the real broker, with users from a
TOML file; alerts are produced to its topics as the engine would write them."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from confluent_kafka.admin import NewTopic

from anpr_engine.config import Federation, Settings, TopicNames
from anpr_engine.console.access import hash_password
from anpr_engine.io.admin import connect, ensure_topics
from anpr_engine.models import Alert, MatchInfo, PlateRead, WatchlistEntry
from tests.helpers.kafka import BIN, free_port, produce, wait

PASSWORD = "correct horse battery"


AGENCY_NL, AGENCY_BE = "Politie Eenheid Limburg", "Federale Politie"


USERS = {  # name: (role, agency)
    "olga": ("operator", AGENCY_NL),
    "bert": ("operator", AGENCY_BE),
    "anna": ("analyst", None),
    "piet": ("privileged", AGENCY_NL),
}


UNACKED_LIMIT = 2


_HASH = hash_password(PASSWORD)


@dataclass
class Console:
    settings: Settings
    url: str
    proc: subprocess.Popen[bytes]
    opened: list[httpx.Client] = field(default_factory=list)

    def client(self, user: str | None) -> httpx.Client:
        """An HTTP client logged in as `user` (none: not logged in); closed with the console."""
        c = httpx.Client(base_url=self.url, timeout=30)
        self.opened.append(c)
        if user is not None:
            r = c.post("/api/login", json={"name": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
        return c

    def alerts(self, *alerts: tuple[Alert, bool]) -> None:
        """Produce alerts as the engine does (covert ones to the covert topic)."""
        t = self.settings.topics
        for a, covert in alerts:
            produce(self.settings, t.alerts_covert if covert else t.alerts, [(None, a.model_dump_json().encode())])


def console_settings(run: str) -> Settings:
    topics = TopicNames(
        reads=f"c.{run}.reads", alerts=f"c.{run}.alerts", alerts_covert=f"c.{run}.covert",
        watchlist=f"c.{run}.watchlist", dlq=f"c.{run}.dlq", feedback=f"c.{run}.feedback", audit=f"c.{run}.audit",
    )  # fmt: skip
    s = Settings(topics=topics)
    ensure_topics(s)
    return s


def federated_settings(run: str, **federation: object) -> Settings:
    """Settings of a console in a federation, every topic name unique to `run` (the copied ones are
    `<party>.` and these: `<party>.c.<run>.hits.nl`); no topic is created."""
    topics = TopicNames(
        reads=f"c.{run}.reads", alerts=f"c.{run}.alerts", alerts_covert=f"c.{run}.covert",
        watchlist=f"c.{run}.watchlist", dlq=f"c.{run}.dlq", feedback=f"c.{run}.feedback", audit=f"c.{run}.audit",
        hits_prefix=f"c.{run}.hits.", hits_covert_prefix=f"c.{run}.hits.covert.",
    )  # fmt: skip
    return Settings(topics=topics, federation=Federation.model_validate(federation))


def create_replica(s: Settings, topic: str) -> None:
    """Create `topic` as MirrorMaker would on the cluster it copies into (one partition)."""
    admin, _ = connect(s)
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    wait(lambda: topic in admin.list_topics(timeout=10).topics, f"{topic} was not created")


def existing_topics(s: Settings) -> set[str]:
    return set(connect(s)[1].topics)


def start_console(tmp: Path, s: Settings, auth: str = "password") -> Console:
    """An `anpr-console` process with the topics and federation of `s`, its users USERS."""
    port = free_port()
    users = "\n".join(
        f'[[console.users]]\nname = "{n}"\nrole = "{r}"\npassword_hash = "{_HASH}"\n'
        + (f'agency = "{a}"\n' if a else "")
        for n, (r, a) in USERS.items()
    )
    t, f = s.topics, s.federation
    federation = "" if f.party is None else (
        f'[federation]\nparty = "{f.party}"\nrole = "{f.role}"\npartners = {json.dumps(list(f.partners))}\n'
    )  # fmt: skip
    config = tmp / f"console-{port}.toml"
    config.write_text(
        f'bootstrap_servers = "{s.bootstrap_servers}"\n'
        f'[topics]\nalerts = "{t.alerts}"\nalerts_covert = "{t.alerts_covert}"\nfeedback = "{t.feedback}"\n'
        f'audit = "{t.audit}"\nhits_prefix = "{t.hits_prefix}"\nhits_covert_prefix = "{t.hits_covert_prefix}"\n'
        f"{federation}[console]\nport = {port}\nunacked_limit = {UNACKED_LIMIT}\n{users}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    env["ANPR_CONSOLE_AUTH"] = auth
    with open(tmp / f"console-{port}.log", "wb") as log:  # the process keeps its own copy
        proc = subprocess.Popen([str(BIN / "anpr-console"), "--config", str(config)], env=env, stderr=log, stdout=log)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, (tmp / f"console-{port}.log").read_text()
        try:
            return httpx.get(url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait(ready, "the console did not get ready", 60)
    return Console(s, url, proc)


_seq = iter(range(10**9))


def make_alert(
    plate: str = "XX805R",
    *,
    read_as: str | None = None,
    entry_id: str | None = None,
    list_name: str = "nl-stolen",
    agency: str = AGENCY_NL,
    agency_country: str = "NL",
    camera_country: str = "BE",
    site: str = "E25 Visé-Lixhe",
    priority: int = 50,
    ts_ms: int | None = None,
    kind: str = "exact",
    matched_in: str | None = None,
    listed_by: str | None = None,
) -> Alert:
    """One alert as the engine writes it (the plate as read differs from the listed one if read_as;
    in a federation, matched by `matched_in`'s engines on an entry `listed_by` listed)."""
    n = next(_seq)
    ts = ts_ms or int(time.time() * 1000)
    read = PlateRead(
        read_id=f"r-{uuid.uuid4()}", camera_id=f"{camera_country}-CAM-{n % 3}", camera_country=camera_country,
        site=site, lane=n % 2, direction="inbound", ts_ms=ts, plate_text=read_as or plate, confidence=0.9,
    )  # fmt: skip
    entry = WatchlistEntry(
        entry_id=entry_id or f"E-{uuid.uuid4().hex[:8]}", plate=plate, list_name=list_name, agency=agency,
        agency_country=agency_country, category="stolen_vehicle", priority=priority,
    )  # fmt: skip
    match = MatchInfo(
        kind=kind, equivalences=0 if read_as is None else 1, score=1.0 if read_as is None else 0.9,
        plate_read=read_as or plate, plate_listed=plate,
    )  # fmt: skip
    return Alert(alert_id=str(uuid.uuid4()), read=read, entry=entry, match=match, produced_at_ms=ts + 5,
                 matched_in=matched_in, listed_by=listed_by)  # fmt: skip


def alert_json(a: Alert) -> dict[str, object]:
    return json.loads(a.model_dump_json())  # type: ignore[no-any-return]
