"""`anpr-alerts`: what an operator runs to watch alerts live, one line per alert (or JSON for machines)."""

from __future__ import annotations

import time
from contextlib import suppress
from datetime import UTC, datetime
from typing import Annotated

import typer
from pydantic import ValidationError

from anpr_engine.cli.common import AlertsTopic, Bootstrap, ConfigFile, settings_from
from anpr_engine.cli.errors import App
from anpr_engine.models import Alert

app = App(help="Follow the alerts topic.")


def format_alert(a: Alert) -> str:
    """One readable line: time, camera, plate as read → as listed, list, category, priority, cross-border mark."""
    t = datetime.fromtimestamp(a.read.ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    mark = f"CROSS-BORDER {a.entry.agency_country}→{a.read.camera_country}" if a.cross_border else "domestic"
    m = a.match
    how = m.kind.value + (f"({m.equivalences + m.differences})" if m.equivalences or m.differences else "")
    if m.candidate:
        how += f" cand#{m.candidate}"
    return (
        f"{t}Z  {a.read.camera_id:<18} {a.read.plate_text!r:>14} → {a.match.plate_listed:<10} "
        f"{a.entry.list_name:<14} {a.entry.category.value:<18} P{a.entry.priority:<3} {how:<18} {mark}"
    )


def keep(a: Alert, country: str | None, list_name: str | None, max_priority: int | None) -> bool:
    """Filters: country (camera's or agency's), list name, and priority at least as urgent as given (0 highest)."""
    if country and country not in (a.read.camera_country, a.entry.agency_country):
        return False
    if list_name and a.entry.list_name != list_name:
        return False
    return max_priority is None or a.entry.priority <= max_priority


@app.command()
def tail(
    bootstrap: Bootstrap = None,
    alerts_topic: AlertsTopic = None,
    country: Annotated[str | None, typer.Option(help="Only alerts whose camera or listing agency is in it.")] = None,
    list_name: Annotated[str | None, typer.Option("--list", help="Only alerts of this list.")] = None,
    min_priority: Annotated[
        int | None,
        typer.Option(help="Only alerts at least this urgent (priority number ≤ this; 0 is highest)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One alert per line as JSON.")] = False,
    from_beginning: Annotated[bool, typer.Option(help="Start at the topic's beginning instead of its end.")] = False,
    idle_timeout_s: Annotated[
        float | None, typer.Option(help="Exit after this many seconds without an alert (default: never).")
    ] = None,
    max_alerts: Annotated[int | None, typer.Option(help="Exit after printing this many alerts.")] = None,
    config: ConfigFile = None,
) -> None:
    """Print alerts as they arrive (the alerts topic is created if missing); no broker answering, or
    a Kafka error it cannot get past (e.g. not authorized to read the topic), exits 1 with one line."""
    from anpr_engine.io.admin import alerts_topics, ensure_topics
    from anpr_engine.io.topic_readers import TailConsumer

    settings = settings_from(bootstrap, alerts=alerts_topic)
    ensure_topics(settings, only=alerts_topics(settings))
    shown = 0
    last = time.monotonic()
    with TailConsumer(settings, settings.topics.alerts, from_beginning) as consumer, suppress(KeyboardInterrupt):
        while max_alerts is None or shown < max_alerts:
            values = consumer.poll(0.2)
            if values:
                last = time.monotonic()
            elif idle_timeout_s is not None and time.monotonic() - last >= idle_timeout_s:
                break
            for v in values:
                try:
                    a = Alert.model_validate_json(v)
                except ValidationError as e:
                    typer.echo(f"anpr-alerts: skipped a message that is not an alert: {e.errors()[0]['msg']}", err=True)
                    continue
                if not keep(a, country, list_name, min_priority):
                    continue
                typer.echo(v.decode() if as_json else format_alert(a))
                shown += 1
                if max_alerts is not None and shown >= max_alerts:
                    break
