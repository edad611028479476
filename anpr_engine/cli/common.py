"""Options every console script shares, and the Settings they produce."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError

from anpr_engine.config import (
    CONFIG_ENV,
    DEFAULT_BOOTSTRAP,
    SECRET_PROPERTY,
    ConfigFileError,
    Settings,
    use_config_file,
)
from anpr_engine.match.policy import CountryPolicy, MatchPolicy

T = TypeVar("T")


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
    """Settings from the file and the environment (ANPR_*), with the options that were given on top;
    a problem with any of them exits 2 with one line each."""
    base = checked(Settings)
    given = {
        "reads": reads, "alerts": alerts, "watchlist": watchlist, "dlq": dlq, "alerts_covert": alerts_covert,
        "feedback": feedback, "audit": audit,
    }  # fmt: skip
    topics = base.topics.model_copy(update={k: v for k, v in given.items() if v})
    update: dict[str, object] = {"topics": topics, **extra}
    if bootstrap:
        update["bootstrap_servers"] = bootstrap
    return checked(lambda: Settings.model_validate({**base.model_dump(), **update}))


def checked(make: Callable[[], T]) -> T:
    """make(), or exit 2 with one line per configuration problem (never a secret's value)."""
    try:
        return make()
    except ConfigFileError as e:
        raise die(f"config: {e}") from e
    except ValidationError as e:
        for line in settings_problems(e):
            typer.echo(f"error: config: {line}", err=True)
        raise typer.Exit(2) from e


def settings_problems(err: ValidationError) -> list[str]:
    """One line per problem: where (dotted, as in the file; ANPR_ and `__` in the environment),
    what is wrong, and the value given unless it is a secret's."""
    lines = []
    for e in err.errors():
        where = ".".join(str(x) for x in e["loc"]) or "settings"
        secret = any(SECRET_PROPERTY.search(str(x)) for x in e["loc"])
        given = "" if secret or e["type"] == "missing" or "input" not in e else f" (given: {e['input']!r:.80})"
        lines.append(f"{where}: {e['msg']}{given}")
    return lines


def match_policy(
    max_equivalences: int | None = None, max_differences: int | None = None, country: CountryPolicy | None = None
) -> MatchPolicy:
    """The match policy of the environment (ANPR_MATCH__*), with the options that were given on top."""
    given = {"max_equivalences": max_equivalences, "max_differences": max_differences, "country": country}
    base = checked(Settings).match
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


def die(message: str, code: int = 2) -> typer.Exit:
    """Print one clear error line and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
