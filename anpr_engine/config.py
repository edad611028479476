"""Configuration in one model: environment variables (prefix ANPR_), then command-line options on top.

Nested fields use `__` in the environment, e.g. ANPR_TOPICS__ALERTS=anpr.alerts.test or
ANPR_MATCH__MAX_EQUIVALENCES=2. ANPR_KAFKA_BOOTSTRAP names the cluster (default 127.0.0.1:9092).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from anpr_engine.normalize import DEFAULT_OCR_CLASSES, fold_table

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
CountryPolicy = Literal["strict", "lenient"]
Guarantee = Literal["at-least-once", "exactly-once"]


class TopicNames(BaseModel):
    model_config = ConfigDict(frozen=True)

    reads: str = "anpr.reads"
    alerts: str = "anpr.alerts"
    alerts_covert: str = Field(default="anpr.alerts.covert", description="alerts of covert lists, and only those")
    watchlist: str = "anpr.watchlist"
    dlq: str = "anpr.reads.dlq"
    reads_partitions: int = Field(default=4, ge=1)


class MatchPolicy(BaseModel):
    """How tolerant matching is.

    mode `format` (default): a read that fits no national plate format of its country is corrected,
    position by position, to the OCR look-alikes the format allows, and its nearest corrections (the
    fewest characters changed) are looked up exactly; a read that fits a format is trusted as read.
    `ocr_equivalent`: any look-alike counts as equal, wherever it stands (more recall on unknown
    formats, many more false alerts on large lists). `exact`: none.
    max_equivalences bounds the characters a hit may correct or treat as equal. In every mode,
    max_differences (default 0) lets a hit have characters inserted or missing instead; one hit
    uses equivalences or differences, not both. In `format` mode only reads that fit no format of
    their country are matched with differences. In every mode a read's exact hits are among its hits.
    """

    model_config = ConfigDict(frozen=True)

    mode: Literal["exact", "format", "ocr_equivalent"] = "format"
    ambiguous: Literal["skip", "look_up"] = Field(
        default="skip",
        description="format mode, a read that fits no format and has several nearest corrections: `skip` "
        "looks up none of them (only the read as read), `look_up` every one",
    )
    country: CountryPolicy = Field(
        default="lenient",
        description="an entry with a plate country and a read with another OCR'd country: `strict` never "
        "match, `lenient` match with a lower score and match.country_mismatch (the country band is the "
        "least reliable field of a read)",
    )
    ocr_classes: tuple[str, ...] = DEFAULT_OCR_CLASSES
    max_equivalences: int = Field(default=2, ge=0, le=2)
    list_max_equivalences: dict[str, int] = Field(
        default_factory=dict,
        description="per-list override, e.g. an exact-only multi-million list: {'sis': 0}",
    )
    length_max_equivalences: dict[int, int] = Field(
        default_factory=dict,
        description="cap by listed plate length (normalized characters), e.g. {4: 0}: four-character plates exact only",
    )
    max_differences: int = Field(
        default=0, ge=0, le=2, description="characters a hit may have inserted or missing (a substitution costs 2)"
    )
    list_max_differences: dict[str, int] = Field(default_factory=dict, description="per-list override")
    length_max_differences: dict[int, int] = Field(
        default_factory=dict, description="cap by listed plate length, e.g. {7: 1}"
    )

    @field_validator("ocr_classes")
    @classmethod
    def _classes_valid(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        fold_table(v)
        return v

    @field_validator(
        "list_max_equivalences", "length_max_equivalences", "list_max_differences", "length_max_differences"
    )
    @classmethod
    def _budgets_valid(cls, v: dict[Any, int]) -> dict[Any, int]:
        bad = {k: b for k, b in v.items() if not 0 <= b <= 2}
        if bad:
            raise ValueError(f"budgets must be 0..2: {bad}")
        return v

    def budget_for(self, list_name: str, plate_length: int | None = None) -> int:
        """Characters a hit on an entry of this list (and listed plate length) may correct or treat as equal."""
        if self.mode == "exact":
            return 0
        return _budget(
            self.max_equivalences, self.list_max_equivalences, self.length_max_equivalences, list_name, plate_length
        )

    def differences_for(self, list_name: str, plate_length: int | None = None) -> int:
        """Characters a hit on an entry of this list (and listed plate length) may have inserted or missing."""
        return _budget(
            self.max_differences, self.list_max_differences, self.length_max_differences, list_name, plate_length
        )


def _budget(default: int, per_list: dict[str, int], per_length: dict[int, int], name: str, length: int | None) -> int:
    """The list's budget (or the default), capped by the length's: the smallest that applies wins."""
    budget = per_list.get(name, default)
    if length is not None:
        budget = min(budget, per_length.get(length, budget))
    return budget


class Settings(BaseSettings):
    """Everything the engine and the tools need; one instance per process."""

    model_config = SettingsConfigDict(env_prefix="ANPR_", env_nested_delimiter="__", frozen=True)

    bootstrap_servers: str = Field(
        default=DEFAULT_BOOTSTRAP, validation_alias=AliasChoices("ANPR_KAFKA_BOOTSTRAP", "bootstrap_servers")
    )
    topics: TopicNames = TopicNames()
    match: MatchPolicy = MatchPolicy()
    group_id: str = "anpr-engine"
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
    flush_timeout_s: float = Field(default=30.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="least level logged (the engine's own lines and librdkafka's)"
    )
    kafka_extra: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="passed through to librdkafka (e.g. security settings)"
    )

    def kafka_common(self) -> dict[str, str | int | float | bool]:
        """librdkafka settings shared by every client. librdkafka's default recovery (re-bootstrap
        when every known broker is gone) is kept: with `metadata.recovery.strategy=none`, a client
        that saw the only broker shut down kept no broker and never delivered again (measured on
        librdkafka 2.15.1; 2.16.0 wedges either way, librdkafka issue 5301)."""
        return {"bootstrap.servers": self.bootstrap_servers, **self.kafka_extra}
