"""`anpr-watchlist`: validate watchlist files and publish them to the compacted watchlist topic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from anpr_engine.cli.common import Bootstrap, WatchlistTopic, die, settings_from
from anpr_engine.models import Category
from anpr_engine.watchlist_files import load_entries

app = typer.Typer(help="Watchlist files → the shared watchlist topic.", no_args_is_help=True)


@app.command()
def publish(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Watchlist .csv, .jsonl or .parquet.")],
    bootstrap: Bootstrap = None,
    watchlist_topic: WatchlistTopic = None,
    list_name: Annotated[str | None, typer.Option(help="List name for rows without one.")] = None,
    agency: Annotated[str | None, typer.Option(help="Listing agency for rows without one.")] = None,
    agency_country: Annotated[str | None, typer.Option(help="Agency country (NL, BE, ...) for rows without.")] = None,
    category: Annotated[Category | None, typer.Option(help="Category for rows without one.")] = None,
    delete: Annotated[bool, typer.Option(help="Publish tombstones: remove these entries instead.")] = False,
) -> None:
    """Validate every row; publish the valid ones (keyed by entry id); report bad rows with line and reason."""
    from anpr_engine.io.admin import ensure_topics
    from anpr_engine.io.producer import AckedProducer, new_producer

    defaults = {
        "list_name": list_name,
        "agency": agency,
        "agency_country": agency_country,
        "category": category,
    }
    try:
        entries, errors = load_entries(file, {k: v for k, v in defaults.items() if v is not None})
    except (OSError, ValueError) as e:
        raise die(str(e)) from e
    for err in errors:
        typer.echo(f"{file}:{err.line}: {err.reason}", err=True)
    settings = settings_from(bootstrap, watchlist=watchlist_topic)
    ensure_topics(settings)
    out = AckedProducer(new_producer(settings), settings.flush_timeout_s)
    for entry in entries:
        value = None if delete else entry.model_dump_json().encode()
        out.produce(settings.topics.watchlist, value, entry.entry_id.encode())
    out.flush()
    verb = "deleted" if delete else "published"
    typer.echo(f"watchlist: {verb} {len(entries)} entries to {settings.topics.watchlist}, {len(errors)} rows rejected")
    if not entries and errors:
        raise die("no valid rows", 1)


@app.command()
def check(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Watchlist .csv, .jsonl or .parquet.")],
) -> None:
    """Validate a watchlist file without publishing; exit 1 if any row is bad."""
    try:
        entries, errors = load_entries(file)
    except (OSError, ValueError) as e:
        raise die(str(e)) from e
    for err in errors:
        typer.echo(f"{file}:{err.line}: {err.reason}", err=True)
    typer.echo(f"watchlist: {len(entries)} valid entries, {len(errors)} rows rejected")
    if errors:
        raise typer.Exit(1)
