"""Options every console script shares, and the Settings they produce."""

from __future__ import annotations

from typing import Annotated

import typer

from anpr_engine.config import DEFAULT_BOOTSTRAP, CountryPolicy, MatchPolicy, Settings

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
DlqTopic = Annotated[str | None, typer.Option("--dlq-topic", help="Dead-letter topic [anpr.reads.dlq].")]


def settings_from(
    bootstrap: str | None = None,
    reads: str | None = None,
    alerts: str | None = None,
    watchlist: str | None = None,
    dlq: str | None = None,
    alerts_covert: str | None = None,
    **extra: object,
) -> Settings:
    """Settings from the environment (ANPR_*), with the options that were given on top."""
    base = Settings()
    given = {"reads": reads, "alerts": alerts, "watchlist": watchlist, "dlq": dlq, "alerts_covert": alerts_covert}
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


def die(message: str, code: int = 2) -> typer.Exit:
    """Print one clear error line and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
