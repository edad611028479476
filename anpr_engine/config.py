"""Configuration in one model, from (highest first) command-line options, environment variables
(prefix ANPR_), a TOML file (`--config`, or ANPR_CONFIG), and the defaults.

Nested fields use `__` in the environment, e.g. ANPR_TOPICS__ALERTS=anpr.alerts.test or
ANPR_MATCH__MAX_EQUIVALENCES=2, and tables in the file ([topics], [match], [kafka_consumer]).
ANPR_KAFKA_BOOTSTRAP names the cluster (default 127.0.0.1:9092).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from anpr_engine.errors import ConfigError
from anpr_engine.match.policy import MatchPolicy
from anpr_engine.models import PartyName, any_case

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
CONFIG_ENV = "ANPR_CONFIG"
ClientRole = Literal["consumer", "producer", "admin"]
KafkaValue = str | int | float | bool | SecretStr
# librdkafka properties whose values are secrets: held as SecretStr, never printed or logged
SECRET_PROPERTY = re.compile(r"password|secret|^ssl\.key\.pem$|^sasl\.oauthbearer\.config$")
# properties the engine sets itself: its delivery guarantees depend on them, so none may be passed through
OWNED_PROPERTIES: dict[str, frozenset[str]] = {
    "all": frozenset({"logger", "error_cb", "on_commit", "on_delivery", "stats_cb", "bootstrap.servers"}),
    "consumer": frozenset(
        {
            "group.id",
            "group.instance.id",
            "enable.auto.commit",
            "enable.auto.offset.store",
            "isolation.level",
            "partition.assignment.strategy",
            "statistics.interval.ms",
        }
    ),
    "producer": frozenset({"transactional.id", "enable.idempotence", "acks"}),
    "admin": frozenset(),
}


_config_file: Path | None = None


def use_config_file(path: Path | None) -> None:
    """Read settings from this TOML file from now on in this process (None: ANPR_CONFIG, if set)."""
    global _config_file
    _config_file = path


def config_file() -> Path | None:
    """The TOML file settings are read from, if any."""
    if _config_file is not None:
        return _config_file
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else None


Guarantee = Literal["at-least-once", "exactly-once"]


class TopicNames(BaseModel):
    model_config = ConfigDict(frozen=True)

    reads: str = Field(default="anpr.reads", description="plate reads from the cameras (or their gateways)")
    alerts: str = Field(default="anpr.alerts", description="alerts that operators subscribe to")
    alerts_covert: str = Field(default="anpr.alerts.covert", description="alerts of covert lists, and only those")
    watchlist: str = Field(default="anpr.watchlist", description="compacted topic of watchlist entries and lists")
    dlq: str = Field(default="anpr.reads.dlq", description="dead letters: messages that are no valid read")
    feedback: str = Field(
        default="anpr.alerts.feedback",
        description="compacted topic of operators' verdicts on alerts, keyed by alert id",
    )
    audit: str = Field(default="anpr.console.audit", description="every view of a covert alert in the console")
    export_prefix: str = Field(
        default="anpr.export.",
        description="federation: released watchlist records for partner P go to the compacted topic <prefix>P",
    )
    hits_prefix: str = Field(
        default="anpr.hits.",
        description="federation: alerts of hits on partner P's entries go to <prefix>P (carried back to P)",
    )
    hits_covert_prefix: str = Field(
        default="anpr.hits.covert.",
        description="federation: alerts of hits on partner P's covert entries go to <prefix>P, and nowhere else",
    )
    reads_partitions: int = Field(default=4, ge=1, description="partitions of the reads and alerts topics when created")

    def export(self, partner: str) -> str:
        """The export topic of the records released to `partner`, on this party's cluster."""
        return f"{self.export_prefix}{partner}"

    def hits(self, owner: str, covert: bool = False) -> str:
        """The topic of the alerts of hits on `owner`'s entries made here, on this party's cluster."""
        return f"{self.hits_covert_prefix if covert else self.hits_prefix}{owner}"


def replica(source: str, topic: str) -> str:
    """The name MirrorMaker 2 gives `topic` of cluster `source` on the cluster it copies it to
    (DefaultReplicationPolicy: `<source>.<topic>`)."""
    return f"{source}.{topic}"


DAY_MS = 86_400_000


class Federation(BaseModel):
    """This cluster's place in a federation of clusters joined by MirrorMaker 2 (docs/federation.md):
    the records of its watchlist released to a partner go to that partner's export topic; with
    `party` set, its engines also match the entries its partners released to it (their export
    topics as MirrorMaker copies them here), and its console shows the hits made abroad on its lists.
    The joint centre (role `centre`) lists nothing and matches nothing: its console shows the alerts
    and verdicts every partner sends it."""

    model_config = ConfigDict(frozen=True)

    party: PartyName | None = Field(
        default=None,
        description="this cluster's party (its MirrorMaker cluster alias, e.g. nl); none outside a federation",
    )
    role: Literal["party", "centre"] = Field(
        default="party", description="a police force's cluster, or the joint centre's (receives, sends nothing)"
    )
    partners: tuple[PartyName, ...] = Field(
        default=(),
        description="the parties this one may release list entries to and matches for (a centre: the parties "
        "it receives from); none by default",
    )

    @field_validator("partners")
    @classmethod
    def _once_each(cls, partners: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(partners)) != len(partners):
            raise ValueError("a partner is named twice")
        return partners

    @model_validator(mode="after")
    def _not_its_own_partner(self) -> Federation:
        if self.party is not None and self.party in self.partners:
            raise ValueError(f"party {self.party!r} is named among its own partners")
        if self.role == "centre" and self.party is None:
            raise ValueError("a centre needs its party name (federation.party)")
        return self

    def matched_abroad(self) -> tuple[str, ...]:
        """The partners whose released entries this party's engines match (none outside a federation
        or at the centre)."""
        return self.partners if self.party is not None and self.role == "party" else ()


class Retention(BaseModel):
    """How long the topics the project creates keep their records (`retention.ms`), in days. Reads
    of vehicles that hit nothing are personal data of innocent drivers: the Netherlands allows 28
    days at most (Sv art. 126jj); Belgium's regime is 12 months."""

    model_config = ConfigDict(frozen=True)

    reads_days: float = Field(default=28.0, gt=0, description="the reads topic (NL: at most 28 days)")
    dlq_days: float = Field(default=7.0, gt=0, description="dead letters (they hold reads' original bytes)")
    alerts_days: float = Field(default=365.0, gt=0, description="the alerts topic (per the forces' policy)")
    alerts_covert_days: float = Field(default=365.0, gt=0, description="the covert alerts topic")
    audit_days: float = Field(default=730.0, gt=0, description="the console's audit of covert views")
    export_tombstones_days: float = Field(
        default=7.0,
        gt=0,
        description="federation: how long a withdrawn entry's tombstone stays on an export topic after compaction "
        "(delete.retention.ms); longer than any mirror outage, since MirrorMaker skips what the source dropped",
    )

    def ms(self, days: float) -> str:
        return str(round(days * DAY_MS))


class Access(BaseModel):
    """Who may do what on a secured cluster (principals as the broker names them, e.g. User:engine):
    the ACLs `anpr-engine topics --acls` sets and `topics --check` compares."""

    model_config = ConfigDict(frozen=True)

    engine: str = Field(
        default="User:engine", description="reads the reads and watchlist topics, writes alerts and dead letters"
    )
    operators: tuple[str, ...] = Field(default=("User:operator",), description="read the alerts topic only")
    privileged: tuple[str, ...] = Field(
        default=("User:privileged",), description="read the covert alerts topic (and the alerts topic)"
    )
    gateways: tuple[str, ...] = Field(default=("User:gateway",), description="camera gateways: write reads only")
    console: str = Field(
        default="User:console", description="the operator console: reads both alerts topics and feedback, writes "
        "feedback and audit",
    )  # fmt: skip
    acls: bool = Field(
        default=False, description="the cluster enforces ACLs: `topics --check` compares them with these principals'"
    )


ConsoleRole = Literal["operator", "analyst", "privileged"]


class ConsoleUser(BaseModel):
    """One login of the operator console. `password_hash` is an Argon2 hash (`anpr-console
    hash-password`), never the password; `agency` is the listing agency whose overdue lists the user sees."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[^\s:]+$")
    role: ConsoleRole
    password_hash: SecretStr = Field(description="Argon2 hash, e.g. $argon2id$v=19$...")
    agency: str | None = Field(default=None, max_length=128)

    _choices = any_case("role")


class ConsoleSettings(BaseModel):
    """The operator console (`anpr-console`)."""

    model_config = ConfigDict(frozen=True)

    port: int = Field(default=8080, ge=0, le=65535, description="HTTP port of the console")
    host: str = Field(default="127.0.0.1", description="address the console listens on")
    users: tuple[ConsoleUser, ...] = Field(default=(), description="who may log in, with Argon2-hashed passwords")
    unacked_limit: int = Field(
        default=10, ge=1, description="hits of one list or entry left unanswered beyond this are shown as overdue"
    )
    cards_shown: int = Field(default=300, ge=1, le=10_000, description="newest alert cards a page starts with")
    sites: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="map coordinates (lat, lon) of crossings, over the built-in Limburg ones"
    )


class Settings(BaseSettings):
    """Everything the engine and the tools need; one instance per process."""

    model_config = SettingsConfigDict(env_prefix="ANPR_", env_nested_delimiter="__", frozen=True)

    bootstrap_servers: str = Field(
        default=DEFAULT_BOOTSTRAP,
        validation_alias=AliasChoices("ANPR_KAFKA_BOOTSTRAP", "bootstrap_servers"),
        description="the Kafka cluster",
    )
    topics: TopicNames = TopicNames()
    retention: Retention = Retention()
    access: Access = Access()
    match: MatchPolicy = MatchPolicy()
    federation: Federation = Federation()
    group_id: str = Field(default="anpr-engine", description="consumer group of the engine instances")
    guarantee: Guarantee = Field(
        default="at-least-once",
        description="exactly-once: a batch's alerts, dead letters and consumed offsets in one Kafka transaction",
    )
    suppress_s: float = Field(
        default=60.0, ge=0, description="one alert per (entry, site) within this many seconds of read time; 0: off"
    )
    session_timeout_ms: int = Field(default=10_000, ge=1000, description="group session timeout")
    commit_interval_ms: int = Field(
        default=200,
        ge=0,
        description="least time between two commits of the consumer's positions (0: after every batch); "
        "positions still uncommitted are committed when the engine goes idle and on close",
    )
    instance_id: str | None = Field(
        default=None, description="static group membership: a restarted instance takes its partitions straight back"
    )
    workers: int = Field(
        default=1, ge=1, description="engine processes in the group, started and stopped together by `run`"
    )
    retro_window_s: float = Field(
        default=3600.0,
        ge=0,
        description="recent reads kept for retro-hits: an entry listed now alerts on its reads this far back "
        "(by read time); 0: no retro-hits",
    )
    retro_interval_ms: int = Field(
        default=1000, ge=0, description="least time between two searches of the recent reads for retro-hits"
    )
    retro_max_reads: int = Field(
        default=2_000_000, ge=0, description="most reads kept for retro-hits (the oldest go first beyond it)"
    )
    batch_max_reads: int = Field(default=20_000, ge=1, description="most messages in one batch")
    watchlist_interval_ms: int = Field(
        default=100,
        ge=0,
        description="least time between two applications of the watchlist topic's new records while reads flow",
    )
    ts_min_ms: int = Field(
        default=946_684_800_000, ge=0, description="reads stamped before this (default 2000-01-01) are dead letters"
    )
    ts_max_future_s: float = Field(
        default=86_400.0,
        ge=0,
        description="reads stamped more than this far ahead of the engine's clock are dead letters",
    )
    batch_max_bytes: int = Field(
        default=4 << 20,
        ge=1,
        description="most bytes of message values in one batch (batched messages hold many reads)",
    )
    batch_timeout_s: float = Field(
        default=0.1, gt=0, description="longest wait for a batch's first message (a batch never waits to fill)"
    )
    flush_timeout_s: float = Field(
        default=30.0, gt=0, description="how long the tools wait for the broker; the engine waits on, fetching paused"
    )
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="port of /metrics, /healthz and /readyz (none: not served)"
    )
    summary_interval_s: float = Field(
        default=60.0, ge=0, description="seconds between two one-line summaries of the figures in the log; 0: none"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="least level logged (the engine's own lines and librdkafka's)"
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="log lines as text, or as one JSON object each (time, level, logger, message)"
    )
    kafka_extra: dict[str, KafkaValue] = Field(
        default_factory=dict, description="librdkafka properties for every client (e.g. security settings)"
    )
    kafka_consumer: dict[str, KafkaValue] = Field(
        default_factory=dict, description="librdkafka properties for the consumers only, over kafka_extra"
    )
    kafka_producer: dict[str, KafkaValue] = Field(
        default_factory=dict, description="librdkafka properties for the producers only, over kafka_extra"
    )
    kafka_admin: dict[str, KafkaValue] = Field(
        default_factory=dict, description="librdkafka properties for the admin client only, over kafka_extra"
    )
    console: ConsoleSettings = ConsoleSettings()
    console_auth: Literal["password", "none"] = Field(
        default="password",
        validation_alias=AliasChoices("ANPR_CONSOLE_AUTH", "console_auth"),
        description="`none`: the console asks no login (local demos only; the page says so)",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Options (init) over the environment over the TOML file (see config_file) over the defaults."""
        path = config_file()
        if path is None:
            return init_settings, env_settings
        if not path.is_file():
            raise ConfigError(f"config: configuration file {path} not found")
        try:
            toml = TomlConfigSettingsSource(settings_cls, toml_file=path)
        except OSError as e:
            raise ConfigError(f"config: configuration file {path} cannot be read: {e.strerror or e}") from e
        except ValueError as e:  # tomllib.TOMLDecodeError, UnicodeDecodeError
            raise ConfigError(f"config: configuration file {path} is not valid TOML: {e}") from e
        return init_settings, env_settings, toml

    _choices = any_case("guarantee", "log_level", "log_format", "console_auth")

    @field_validator("kafka_extra", "kafka_consumer", "kafka_producer", "kafka_admin", mode="before")
    @classmethod
    def _secrets_hidden(cls, v: object) -> object:
        if isinstance(v, dict):
            return {k: SecretStr(str(x)) if SECRET_PROPERTY.search(str(k)) and not isinstance(x, SecretStr) else x
                    for k, x in v.items()}  # fmt: skip
        return v

    @model_validator(mode="after")
    def _nothing_owned_passed_through(self) -> Settings:
        problems = []
        for field, roles in (("kafka_extra", list(OWNED_PROPERTIES)), ("kafka_consumer", ["all", "consumer"]),
                             ("kafka_producer", ["all", "producer"]), ("kafka_admin", ["all", "admin"])):  # fmt: skip
            owned = set().union(*(OWNED_PROPERTIES[r] for r in roles))
            problems += [f"{field}.{k}" for k in getattr(self, field) if k in owned]
        if problems:
            raise ValueError(f"set by the engine itself, not to be passed through: {', '.join(sorted(problems))}")
        return self

    def kafka_conf(self, role: ClientRole) -> dict[str, str | int | float | bool]:
        """librdkafka properties for a client of `role`: the cluster, kafka_extra, then the role's
        own, secrets revealed. librdkafka's default recovery (re-bootstrap when every known broker
        is gone) is kept: with `metadata.recovery.strategy=none`, a client that saw the only broker
        shut down kept no broker and never delivered again (measured on librdkafka 2.15.1; 2.16.0
        wedges either way, librdkafka issue 5301)."""
        own = {"consumer": self.kafka_consumer, "producer": self.kafka_producer, "admin": self.kafka_admin}[role]
        props = {**self.kafka_extra, **own}
        return {
            "bootstrap.servers": self.bootstrap_servers,
            **{k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in props.items()},
        }
