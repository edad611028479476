"""`anpr-federation`: checks across the clusters of a federation (docs/federation.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from anpr_engine.cli.common import AlertsTopic, ConfigFile, CovertAlertsTopic, ReadsTopic, settings_from
from anpr_engine.cli.errors import FAILED, App
from anpr_engine.config import Settings
from anpr_engine.errors import ConfigError

app = App(help="Checks across the clusters of a federation (one Kafka cluster per party).", no_args_is_help=True)
SHOWN = 10  # crossed read ids listed on stderr


@app.callback()
def main() -> None:
    """Checks across the clusters of a federation (one Kafka cluster per party)."""


@app.command()
def crossed(
    home: Annotated[
        str | None,
        typer.Option("--home", help="The party's own cluster (bootstrap servers); default: the settings' cluster."),
    ] = None,
    abroad: Annotated[
        list[str] | None,
        typer.Option("--abroad", help="Another cluster of the federation (bootstrap servers); repeat for each."),
    ] = None,
    partner: Annotated[
        list[str] | None,
        typer.Option(help="A partner whose hits topics carry the home party's hits (default: federation.partners)."),
    ] = None,
    reads_topic: ReadsTopic = None,
    alerts_topic: AlertsTopic = None,
    covert_alerts_topic: CovertAlertsTopic = None,
    config: ConfigFile = None,
) -> None:
    """Count the home party's reads that did not hit but are on another cluster, in any topic: one line
    `reads=N hits=H non_hits=M crossed=C`; exit 1 when C > 0, the first crossed ids on stderr. A read
    leaves only with a hit (the alerts, the covert alerts, the hits on each partner's entries); the
    other clusters are read whole, their internal topics too (anpr_engine/io/crossing.py)."""
    from anpr_engine.io.crossing import reads_crossed

    if not abroad:
        raise ConfigError("give --abroad BOOTSTRAP, once per other cluster")
    settings = settings_from(home, reads=reads_topic, alerts=alerts_topic, alerts_covert=covert_alerts_topic)
    if partner:  # validated as the settings' own (a party among its partners is refused)
        federation = {**settings.federation.model_dump(), "partners": tuple(partner)}
        settings = Settings.model_validate({**settings.model_dump(), "federation": federation})
    others = [settings.model_copy(update={"bootstrap_servers": b}) for b in abroad]
    got = reads_crossed(settings, others)
    typer.echo(f"reads={got.reads} hits={got.hits} non_hits={got.non_hits} crossed={len(got.crossed)}")
    if got.crossed:
        for rid in sorted(got.crossed)[:SHOWN]:
            typer.echo(f"crossed: read {rid} on {got.where.get(rid, '?')}", err=True)
        if len(got.crossed) > SHOWN:
            typer.echo(f"crossed: and {len(got.crossed) - SHOWN} more", err=True)
        raise typer.Exit(FAILED)
