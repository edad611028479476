"""`anpr-watchlist`: validate watchlist files and publish them to the compacted watchlist topic; add,
remove and count entries there."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from anpr_engine.cli.common import Bootstrap, WatchlistTopic, die, settings_from
from anpr_engine.match.watchlist import plate_problems
from anpr_engine.models import Action, Category, WatchlistEntry, first_error
from anpr_engine.watchlist_files import derived_entry_id, listed_form, load_entries

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


@app.command()
def add(
    plate: Annotated[str, typer.Option(help="The plate as printed, or a wildcard pattern such as 12-AB*.")],
    list_name: Annotated[str, typer.Option(help="The list it goes on.")],
    agency: Annotated[str, typer.Option(help="The listing agency.")],
    agency_country: Annotated[str, typer.Option(help="The agency's country (NL, BE, ...).")],
    category: Annotated[Category, typer.Option(help="Why the vehicle is listed.")],
    plate_country: Annotated[str | None, typer.Option(help="The plate's country, if known.")] = None,
    priority: Annotated[int, typer.Option(min=0, max=100, help="0 is the most urgent.")] = 50,
    action: Annotated[Action, typer.Option(help="What to do on a hit.")] = Action.STOP_AND_CHECK,
    valid_for_s: Annotated[
        float | None, typer.Option(min=0, help="Listed from now for this long (default: until removed).")
    ] = None,
    note: Annotated[str | None, typer.Option(help="A note for the operators.")] = None,
    entry_id: Annotated[str | None, typer.Option(help="Entry id [derived from country, list and plate].")] = None,
    bootstrap: Bootstrap = None,
    watchlist_topic: WatchlistTopic = None,
) -> None:
    """List one vehicle now: publish one entry (an entry with its id is replaced)."""
    import time

    from pydantic import ValidationError

    from anpr_engine.io.admin import ensure_topics
    from anpr_engine.io.producer import AckedProducer, new_producer

    now_ms = int(time.time() * 1000)
    data = {
        "plate": plate, "list_name": list_name, "agency": agency, "agency_country": agency_country,
        "category": category, "plate_country": plate_country, "priority": priority, "action": action,
        "note": note, "valid_from_ms": now_ms if valid_for_s is not None else None,
        "valid_until_ms": now_ms + int(valid_for_s * 1000) if valid_for_s is not None else None,
    }  # fmt: skip
    data["entry_id"] = entry_id or derived_entry_id(data)
    try:
        entry = WatchlistEntry.model_validate(data)
    except ValidationError as e:
        raise die(first_error(e, "entry")) from e
    (problem,) = plate_problems([entry.plate])
    if problem is not None:
        raise die(problem)
    settings = settings_from(bootstrap, watchlist=watchlist_topic)
    ensure_topics(settings)
    out = AckedProducer(new_producer(settings), settings.flush_timeout_s)
    out.produce(settings.topics.watchlist, entry.model_dump_json().encode(), entry.entry_id.encode())
    out.flush()
    typer.echo(f"watchlist: added {entry.entry_id} to {settings.topics.watchlist}")


@app.command()
def remove(
    entry_id: Annotated[list[str] | None, typer.Option(help="Remove this entry (may be given more than once).")] = None,
    plate: Annotated[str | None, typer.Option(help="Remove every entry listing this plate (as normalized).")] = None,
    bootstrap: Bootstrap = None,
    watchlist_topic: WatchlistTopic = None,
) -> None:
    """Unlist: publish tombstones, by entry id or for every entry of a plate; exit 1 if none matched."""
    from anpr_engine.io.producer import AckedProducer, new_producer
    from anpr_engine.io.watchlist_topic import listed_entries

    if not entry_id and plate is None:
        raise die("give --entry-id or --plate")
    settings = settings_from(bootstrap, watchlist=watchlist_topic)
    listed = listed_entries(settings)
    ids = [i for i in entry_id or [] if i in listed]
    if plate is not None:
        wanted = listed_form(plate)
        ids += [i for i, e in listed.items() if listed_form(e.plate) == wanted]
    if not ids:
        raise die("no listed entry matches", 1)
    out = AckedProducer(new_producer(settings), settings.flush_timeout_s)
    for i in dict.fromkeys(ids):
        out.produce(settings.topics.watchlist, None, i.encode())
    out.flush()
    typer.echo(f"watchlist: removed {len(set(ids))} entries: {', '.join(sorted(set(ids)))}")


@app.command("ls")
def list_counts(
    bootstrap: Bootstrap = None,
    watchlist_topic: WatchlistTopic = None,
    as_json: Annotated[bool, typer.Option("--json", help="The counts as JSON.")] = False,
) -> None:
    """Live counts of listed entries per list, agency country and category, read from the topic."""
    import json
    from collections import Counter

    from anpr_engine.io.watchlist_topic import listed_entries

    settings = settings_from(bootstrap, watchlist=watchlist_topic)
    counts = Counter((e.list_name, e.agency_country, e.category.value) for e in listed_entries(settings).values())
    rows = [
        {"list_name": n, "agency_country": c, "category": cat, "entries": k}
        for (n, c, cat), k in sorted(counts.items())
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    typer.echo(f"{'list':<24} {'agency':<6} {'category':<20} {'entries':>9}")
    for r in rows:
        typer.echo(f"{r['list_name']:<24} {r['agency_country']:<6} {r['category']:<20} {r['entries']:>9}")
    typer.echo(f"{'total':<52} {sum(counts.values()):>9}")
