"""Options every console script shares, and the Settings they produce. A problem with the
settings raises (ConfigError, pydantic's ValidationError): cli.errors reports it, exit 2."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from anpr_engine.config import CONFIG_ENV, DEFAULT_BOOTSTRAP, Settings, use_config_file
from anpr_engine.match.policy import CountryPolicy, MatchPolicy


def _use_config(path: Path | None) -> Path | None:
    use_config_file(path)
    return path


ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config", envvar=CONFIG_ENV, dir_okay=False, is_eager=True, callback=_use_config,
        help="TOML file of settings, under the environment (ANPR_*) and the options.",
    ),
]  # fmt: skip

Bootstrap = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        envvar="ANPR_KAFKA_BOOTSTRAP",
        help=f"Kafka bootstrap servers [default: {DEFAULT_BOOTSTRAP}].",
    ),
]
ReadsTopic = Annotated[str | None, typer.Option("--reads-topic", help="Topic of plate reads [anpr.reads].")]
AlertsTopic = Annotated[str | None, typer.Option("--alerts-topic", help="Topic of alerts [anpr.alerts].")]
WatchlistTopic = Annotated[
    str | None,
    typer.Option("--watchlist-topic", help="Compacted topic of watchlist entries [anpr.watchlist]."),
]
CovertAlertsTopic = Annotated[
    str | None,
    typer.Option("--covert-alerts-topic", help="Topic of the alerts of covert lists [anpr.alerts.covert]."),
]
FeedbackTopic = Annotated[
    str | None,
    typer.Option("--feedback-topic", help="Compacted topic of operators' verdicts [anpr.alerts.feedback]."),
]
AuditTopic = Annotated[
    str | None, typer.Option("--audit-topic", help="Topic of the audit of covert views [anpr.console.audit].")
]
DlqTopic = Annotated[str | None, typer.Option("--dlq-topic", help="Dead-letter topic [anpr.reads.dlq].")]


def settings_from(
    bootstrap: str | None = None,
    reads: str | None = None,
    alerts: str | None = None,
    watchlist: str | None = None,
    dlq: str | None = None,
    alerts_covert: str | None = None,
    feedback: str | None = None,
    audit: str | None = None,
    **extra: object,
) -> Settings:
    """Settings from the file and the environment (ANPR_*), with the options that were given on top."""
    base = Settings()
    given = {
        "reads": reads, "alerts": alerts, "watchlist": watchlist, "dlq": dlq, "alerts_covert": alerts_covert,
        "feedback": feedback, "audit": audit,
    }  # fmt: skip
    topics = base.topics.model_copy(update={k: v for k, v in given.items() if v})
    update: dict[str, object] = {"topics": topics, **extra}
    if bootstrap:
        update["bootstrap_servers"] = bootstrap
    return Settings.model_validate({**base.model_dump(), **update})


def match_policy(
    max_equivalences: int | None = None, max_differences: int | None = None, country: CountryPolicy | None = None
) -> MatchPolicy:
    """The match policy of the environment (ANPR_MATCH__*), with the options that were given on top."""
    given = {"max_equivalences": max_equivalences, "max_differences": max_differences, "country": country}
    base = Settings().match
    return MatchPolicy.model_validate({**base.model_dump(), **{k: v for k, v in given.items() if v is not None}})


def configure_logging(settings: Settings) -> None:
    """Log to stderr at settings.log_level, as text or as one JSON object a line (log_format);
    librdkafka's lines come through the same handler (io.client_config)."""
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        fields = {"levelname": "level", "asctime": "time", "name": "logger"}
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields=fields))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
