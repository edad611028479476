"""`anpr-watchlist`: validate watchlist files and publish them to the compacted watchlist topic;
replace a list whole; set list records; add, remove and count entries there."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from pydantic import ValidationError

from anpr_engine.cli.common import (
    Bootstrap,
    ConfigFile,
    WatchlistTopic,
    configure_logging,
    match_policy,
    settings_from,
)
from anpr_engine.cli.errors import App, input_file
from anpr_engine.codec.entries import EntryRows
from anpr_engine.config import Settings
from anpr_engine.errors import BadInput, ConfigError
from anpr_engine.files.watchlists import (
    RowError,
    derived_entry_id,
    list_defaults,
    listed_form,
    load_entry_rows,
    on_lists,
)
from anpr_engine.match.watchlist import plate_problems
from anpr_engine.models import Action, Category, WatchlistEntry, WatchlistList, entry_key, first_error

app = App(help="Watchlist files → the shared watchlist topic.", no_args_is_help=True)


def _ready(settings: Settings) -> None:
    """The engine's topics created if missing (the watchlist topic on a fresh cluster), and in the
    metadata, before anything is read or written there."""
    from anpr_engine.io.admin import engine_topics, ensure_topics

    ensure_topics(settings, only=engine_topics(settings))


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
    config: ConfigFile = None,
) -> None:
    """Validate every row; publish the valid ones (keyed by entry id, at their list's active
    generation, with its defaults); report bad rows with line and reason."""
    from anpr_engine.io.watchlist_topic import WatchlistWriter, topic_state

    settings = settings_from(bootstrap, watchlist=watchlist_topic)
    _ready(settings)
    state = topic_state(settings)
    defaults = {"list_name": list_name, "agency": agency, "agency_country": agency_country, "category": category}
    entries, errors = _load(file, {k: v for k, v in defaults.items() if v is not None}, state.lists)
    writer = WatchlistWriter(settings)
    if delete:
        writer.tombstones([entry_key(i, g) for i, g in zip(entries.entry_id, entries.generation.tolist(), strict=True)])
    else:
        writer.entries(entries)
    verb = "deleted" if delete else "published"
    typer.echo(f"watchlist: {verb} {len(entries)} entries to {settings.topics.watchlist}, {len(errors)} rows rejected")
    if not entries and errors:
        raise BadInput("no valid rows")


def _load(
    file: Path, defaults: Mapping[str, object] | None = None, lists: Mapping[str, WatchlistList] | None = None,
    only_list: str | None = None, json: bool = True,
) -> tuple[EntryRows, list[RowError]]:  # fmt: skip
    """A watchlist file's valid entries, its bad rows reported on stderr as `file:line: reason`."""
    with input_file(file):
        entries, errors = load_entry_rows(file, defaults, lists, only_list, _now_ms(), json=json)
    for err in errors:
        typer.echo(f"{file}:{err.line}: {err.reason}", err=True)
    return entries, errors


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@app.command()
def replace(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The list's new entries, whole.")],
    list_name: Annotated[str, typer.Option(help="The list replaced.")],
    agency: Annotated[str | None, typer.Option(help="Listing agency (for a list without a record yet).")] = None,
    agency_country: Annotated[str | None, typer.Option(help="The agency's country (likewise).")] = None,
    category: Annotated[Category | None, typer.Option(help="Category for rows without one.")] = None,
    bootstrap: Bootstrap = None,
    watchlist_topic: WatchlistTopic = None,
    config: ConfigFile = None,
) -> None:
    """Replace one list whole and atomically (e.g. a nightly export): matching sees the old list
    until one record switches it to the new, never a mix and never an empty list."""
    from anpr_engine.io.watchlist_topic import WatchlistWriter, next_generation, replace_list, topic_state

    settings = settings_from(bootstrap, watchlist=watchlist_topic)
    _ready(settings)
    state = topic_state(settings)
    record = state.lists.get(list_name)
    if record is None:
        if agency is None or agency_country is None:
            raise ConfigError(f"list {list_name!r} has no list record yet: give --agency and --agency-country")
        record = _list_record({"list_name": list_name, "agency": agency, "agency_country": agency_country})
    record = record.model_copy(update={"generation": next_generation(state, list_name)})
    defaults = {"category": category} if category is not None else {}
    entries, errors = _load(file, defaults, {list_name: record}, only_list=list_name)
    if errors:
        raise BadInput(f"{len(errors)} rows rejected: the list is replaced only by a file without bad rows")
    removed = replace_list(WatchlistWriter(settings), state, record, entries)
    typer.echo(
        f"watchlist: list {list_name} replaced by generation {record.generation}: {len(entries)} entries, "
        f"{removed} of earlier generations removed"
    )


def _list_record(data: dict[str, object]) -> WatchlistList:
    """The list record the options make (ConfigError if they make none)."""
    try:
        return WatchlistList.model_validate({"record": "list", **data})
    except ValidationError as e:
        raise ConfigError(first_error(e, "list")) from e


@app.command("check-archive")
def check_archive(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Entries to look for: a watchlist file.")],
    reads: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Past reads: .parquet, .jsonl or .csv.")],
    out: Annotated[Path | None, typer.Option(help="Alerts as JSON lines [stdout].")] = None,
    max_equivalences: Annotated[
        int | None, typer.Option("--max-equivalences", min=0, max=2, help="OCR look-alikes a hit may use [2].")
    ] = None,
    config: ConfigFile = None,
) -> None:
    """For investigators: which archived reads the entries of a file match (at the reads' own time,
    with the engine's matching), as alerts with `retro: true`."""
    from anpr_engine.files.reads import read_reads_file
    from anpr_engine.match.reads import match_reads
    from anpr_engine.match.watchlist import Watchlist

    entries, _ = _load(file)
    with input_file(reads):
        table, rejects = read_reads_file(reads)
    for line, why in rejects:
        typer.echo(f"{reads}:{line}: {why}", err=True)
    watchlist = Watchlist(match_policy(max_equivalences))
    watchlist.upsert_rows(entries)
    now_ms = _now_ms()
    found = [
        a for batch in table.sort_by("ts_ms").to_batches(max_chunksize=100_000)
        for a in match_reads(pa.Table.from_batches([batch]), watchlist, now_ms, retro=True)
    ]  # fmt: skip
    text = "".join(a.value.decode() + "\n" for a in found)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
    typer.echo(
        f"watchlist: {len(found)} retro alerts from {table.num_rows} archived reads ({len(rejects)} unreadable) "
        f"against {len(entries)} entries",
        err=True,
    )


@app.command("set-list")
def set_list(
    list_name: Annotated[str, typer.Argument(help="The list's name.")],
    agency: Annotated[str | None, typer.Option(help="The listing agency.")] = None,
    agency_country: Annotated[str | None, typer.Option(help="The agency's country (NL, BE, ...).")] = None,
    category: Annotated[Category | None, typer.Option(help="Default category of its entries.")] = None,
    priority: Annotated[int | None, typer.Option(min=0, max=100, help="Default priority, 0 most urgent.")] = None,
    action: Annotated[Action | None, typer.Option(help="Default action on a hit.")] = None,
    covert: Annotated[bool | None, typer.Option("--covert/--overt", help="Hits go to the covert topic only.")] = None,
    default_validity_s: Annotated[
        int | None, typer.Option(min=1, help="Entries added without an end are listed this long.")
    ] = None,
    bootstrap: Bootstrap = None,
    watchlist_topic: WatchlistTopic = None,
    config: ConfigFile = None,
) -> None:
    """Create a list record, or change the given fields of one (its active generation stays)."""
    from anpr_engine.io.watchlist_topic import WatchlistWriter, topic_state

    settings = settings_from(bootstrap, watchlist=watchlist_topic)
    _ready(settings)
    current = topic_state(settings).lists.get(list_name)
    given = {
        "agency": agency, "agency_country": agency_country, "category": category, "priority": priority,
        "action": action, "covert": covert, "default_validity_s": default_validity_s,
    }  # fmt: skip
    base = current.model_dump() if current is not None else {}
    record = _list_record({**base, "list_name": list_name, **{k: v for k, v in given.items() if v is not None}})
    WatchlistWriter(settings).list_record(record)
    typer.echo(f"watchlist: list {list_name} {'changed' if current else 'created'}: {record.model_dump_json()}")


@app.command()
def check(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Watchlist .csv, .jsonl or .parquet.")],
    config: ConfigFile = None,
) -> None:
    """Validate a watchlist file without publishing; exit 1 if any row is bad."""
    entries, errors = _load(file, json=False)
    typer.echo(f"watchlist: {len(entries)} valid entries, {len(errors)} rows rejected")
    if errors:
        raise typer.Exit(1)


@app.command()
def add(
    plate: Annotated[str, typer.Option(help="The plate as printed, or a wildcard pattern such as 12-AB*.")],
    list_name: Annotated[str, typer.Option(help="The list it goes on.")],
    agency: Annotated[str | None, typer.Option(help="The listing agency [the list's].")] = None,
    agency_country: Annotated[str | None, typer.Option(help="The agency's country (NL, BE, ...) [the list's].")] = None,
    category: Annotated[Category | None, typer.Option(help="Why the vehicle is listed [the list's].")] = None,
    plate_country: Annotated[str | None, typer.Option(help="The plate's country, if known.")] = None,
    priority: Annotated[int | None, typer.Option(min=0, max=100, help="0 is the most urgent [the list's, 50].")] = None,
    action: Annotated[Action | None, typer.Option(help="What to do on a hit [the list's, stop_and_check].")] = None,
    valid_for_s: Annotated[
        float | None,
        typer.Option(min=0, help="Listed from now for this long [the list's default validity; else until removed]."),
    ] = None,
    note: Annotated[str | None, typer.Option(help="A note for the operators.")] = None,
    entry_id: Annotated[str | None, typer.Option(help="Entry id [derived from country, list and plate].")] = None,
    bootstrap: Bootstrap = None,
    watchlist_topic: WatchlistTopic = None,
    config: ConfigFile = None,
) -> None:
    """List one vehicle now: publish one entry (an entry with its id is replaced), taking what is
    not given from its list's record."""
    from anpr_engine.io.watchlist_topic import WatchlistWriter, topic_state

    settings = settings_from(bootstrap, watchlist=watchlist_topic)
    _ready(settings)
    lists = topic_state(settings).lists
    now_ms = _now_ms()
    given = {
        "plate": plate, "list_name": list_name, "agency": agency, "agency_country": agency_country,
        "category": category, "plate_country": plate_country, "priority": priority, "action": action,
        "note": note, "valid_from_ms": now_ms if valid_for_s is not None else None,
        "valid_until_ms": now_ms + int(valid_for_s * 1000) if valid_for_s is not None else None,
    }  # fmt: skip
    data = {k: v for k, v in given.items() if v is not None}
    if list_name in lists:
        data = {**list_defaults(lists[list_name]), **data}
    data["entry_id"] = entry_id or derived_entry_id(data)
    try:
        entry = WatchlistEntry.model_validate(data)
    except ValidationError as e:
        raise ConfigError(first_error(e, "entry")) from e
    (problem,) = plate_problems([entry.plate])
    if problem is not None:
        raise ConfigError(problem)
    (entry,) = on_lists([entry], lists, now_ms)
    WatchlistWriter(settings).entries(EntryRows.of([entry]))
    typer.echo(f"watchlist: added {entry.entry_id} to {settings.topics.watchlist}")


@app.command()
def remove(
    entry_id: Annotated[list[str] | None, typer.Option(help="Remove this entry (may be given more than once).")] = None,
    plate: Annotated[str | None, typer.Option(help="Remove every entry listing this plate (as normalized).")] = None,
    bootstrap: Bootstrap = None,
    watchlist_topic: WatchlistTopic = None,
    config: ConfigFile = None,
) -> None:
    """Unlist: publish tombstones, by entry id or for every entry of a plate (in every generation
    of its list); exit 1 if none matched."""
    from anpr_engine.io.watchlist_topic import WatchlistWriter, topic_state

    if not entry_id and plate is None:
        raise ConfigError("give --entry-id or --plate")
    settings = settings_from(bootstrap, watchlist=watchlist_topic)
    _ready(settings)
    entries = topic_state(settings).entries
    keys = _selected(entries, entry_id, plate)
    WatchlistWriter(settings).tombstones(keys)
    ids = sorted({entries[k].entry_id for k in keys})
    typer.echo(f"watchlist: removed {len(ids)} entries: {', '.join(ids)}")


def _selected(entries: Mapping[str, WatchlistEntry], entry_ids: list[str] | None, plate: str | None) -> list[str]:
    """The record keys of the entries with one of `entry_ids` or listing `plate` (as normalized), in
    every generation; BadInput if there are none."""
    wanted = listed_form(plate) if plate is not None else None
    keys = [k for k, e in entries.items() if e.entry_id in (entry_ids or []) or listed_form(e.plate) == wanted]
    if not keys:
        raise BadInput("no listed entry matches")
    return keys


@app.command("ls")
def list_counts(
    bootstrap: Bootstrap = None,
    watchlist_topic: WatchlistTopic = None,
    as_json: Annotated[bool, typer.Option("--json", help="The counts as JSON.")] = False,
    config: ConfigFile = None,
) -> None:
    """Live counts of matching entries per list, agency country and category, read from the topic;
    and the list records."""
    import json
    from collections import Counter

    from anpr_engine.io.watchlist_topic import topic_state

    settings = settings_from(bootstrap, watchlist=watchlist_topic)
    _ready(settings)
    state = topic_state(settings)
    counts = Counter((e.list_name, e.agency_country, e.category.value) for e in state.active().values())
    rows = [
        {"list_name": n, "agency_country": c, "category": cat, "entries": k,
         "covert": bool(state.lists[n].covert) if n in state.lists else False}
        for (n, c, cat), k in sorted(counts.items())
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps({"counts": rows, "lists": [r.model_dump(mode="json") for r in state.lists.values()]}))
        return
    typer.echo(f"{'list':<24} {'agency':<6} {'category':<20} {'entries':>9}")
    for r in rows:
        covert = " (covert)" if r["covert"] else ""
        typer.echo(f"{r['list_name']:<24} {r['agency_country']:<6} {r['category']:<20} {r['entries']:>9}{covert}")
    typer.echo(f"{'total':<52} {sum(counts.values()):>9}")
    for lst in state.lists.values():
        validity = f", entries valid {lst.default_validity_s}s" if lst.default_validity_s else ""
        typer.echo(
            f"list {lst.list_name}: {lst.agency} ({lst.agency_country}), generation {lst.generation}"
            f"{', covert' if lst.covert else ''}{validity}"
        )


@app.command()
def release(
    to: Annotated[list[str], typer.Option("--to", help="A partner to release to (repeatable).")],
    list_name: Annotated[str | None, typer.Option(help="Release the whole list (its record's release_to).")] = None,
    entry_id: Annotated[list[str] | None, typer.Option(help="Release this entry (repeatable).")] = None,
    plate: Annotated[str | None, typer.Option(help="Release every entry listing this plate (as normalized).")] = None,
    covert: Annotated[bool, typer.Option("--covert", help="Release a covert list (sets release_covert).")] = False,
    bootstrap: Bootstrap = None,
    watchlist_topic: WatchlistTopic = None,
    config: ConfigFile = None,
) -> None:
    """Release to partners, after the individual assessment the treaty asks for: a whole list
    through its record, or single entries (by id or plate) through their own release_to. Nothing
    is released by default; `anpr-watchlist export` writes what is released to the export topics."""
    _change_release(to, list_name, entry_id, plate, covert, bootstrap, watchlist_topic, add=True)


@app.command()
def withhold(
    from_: Annotated[list[str] | None, typer.Option("--from", help="A partner to withhold from [all].")] = None,
    list_name: Annotated[str | None, typer.Option(help="Withhold the whole list (its record's release_to).")] = None,
    entry_id: Annotated[list[str] | None, typer.Option(help="Withhold this entry (repeatable).")] = None,
    plate: Annotated[str | None, typer.Option(help="Withhold every entry listing this plate (as normalized).")] = None,
    bootstrap: Bootstrap = None,
    watchlist_topic: WatchlistTopic = None,
    config: ConfigFile = None,
) -> None:
    """Withhold from partners what was released: the export writes tombstones that MirrorMaker
    carries across, so the entries stop matching abroad."""
    _change_release(from_, list_name, entry_id, plate, False, bootstrap, watchlist_topic, add=False)


def _change_release(
    partners: list[str] | None, list_name: str | None, entry_ids: list[str] | None, plate: str | None,
    covert: bool, bootstrap: str | None, watchlist_topic: str | None, add: bool,
) -> None:  # fmt: skip
    """Release to (`add`) or withhold from `partners` (all, when withholding without any) a list or
    entries, republishing their records with the new release_to."""
    from anpr_engine.io.watchlist_topic import WatchlistWriter, topic_state

    if (list_name is None) == (not entry_ids and plate is None):
        raise ConfigError("give --list-name, or --entry-id / --plate")
    settings = settings_from(bootstrap, watchlist=watchlist_topic)
    known = settings.federation.partners
    if not known:
        raise ConfigError("federation.partners is empty: set the partners (ANPR_FEDERATION__PARTNERS) first")
    partners = [p.lower() for p in partners or ()]
    unknown = sorted(set(partners) - set(known))
    if unknown:
        raise ConfigError(f"not a partner: {', '.join(unknown)} (federation.partners: {', '.join(known)})")
    chosen = set(partners or known)
    _ready(settings)
    state = topic_state(settings)

    def changed(current: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted(set(current) | chosen if add else set(current) - chosen))

    writer = WatchlistWriter(settings)
    if list_name is not None:
        record = state.lists.get(list_name)
        if record is None:
            raise BadInput(f"no list record {list_name}: create it with set-list first")
        if record.covert and add and not (covert or record.release_covert):
            raise BadInput(f"list {list_name} is covert: release it with --covert, if it is meant to be")
        update: dict[str, object] = {"release_to": changed(record.release_to)}
        if covert:
            update["release_covert"] = True
        new = record.model_copy(update=update)
        writer.list_record(new)
        typer.echo(f"watchlist: list {list_name} released to {', '.join(new.release_to) or 'nobody'}")
        return
    keys = _selected(state.entries, entry_ids, plate)
    entries = []
    for key in keys:
        e = state.entries[key]
        lst = state.lists.get(e.list_name)
        if add and lst is not None and lst.covert and not lst.release_covert:
            raise BadInput(f"{e.entry_id} is on covert list {e.list_name}: release the list with --covert first")
        current = e.release_to if e.release_to is not None else (lst.release_to if lst is not None else ())
        entries.append(e.model_copy(update={"release_to": changed(current)}))
    writer.entries(EntryRows.of(entries))
    typer.echo(
        f"watchlist: {len(entries)} entries {'released to' if add else 'withheld from'} {', '.join(sorted(chosen))}"
    )


@app.command()
def export(
    follow: Annotated[bool, typer.Option(help="Keep the export topics in step until stopped (SIGTERM).")] = False,
    bootstrap: Bootstrap = None,
    watchlist_topic: WatchlistTopic = None,
    config: ConfigFile = None,
) -> None:
    """Write what is released to each partner (federation.partners) to its export topic on this
    cluster, from where MirrorMaker carries it across: the watchlist topic replayed, each export
    topic read back, the difference written (withheld and removed entries as tombstones)."""
    import signal

    from anpr_engine.io.export_topics import export_released

    settings = settings_from(bootstrap, watchlist=watchlist_topic)
    configure_logging(settings)
    stopping: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: stopping.append(signum))
    written = export_released(settings, follow=follow, stop=lambda: bool(stopping))
    counts = ", ".join(f"{p}={written[p]}" for p in settings.federation.partners)
    typer.echo(f"watchlist: export records written: {counts}")
