"""`anpr-engine`: run the matching engine on Kafka, match files offline, export JSON Schemas."""

from __future__ import annotations

import json
import logging
import signal
import socket
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import pyarrow as pa
import typer
from pydantic import ValidationError

from anpr_engine.cli.common import (
    AlertsTopic,
    Bootstrap,
    ConfigFile,
    CovertAlertsTopic,
    DlqTopic,
    ReadsTopic,
    WatchlistTopic,
    configure_logging,
    match_policy,
    settings_from,
)
from anpr_engine.cli.errors import App, input_file
from anpr_engine.config import Federation, Guarantee, Settings, config_file
from anpr_engine.engine.loop import Stats, freeze_heap
from anpr_engine.engine.suppression import Suppressor
from anpr_engine.errors import ConfigError
from anpr_engine.files.reads import read_reads_file
from anpr_engine.files.watchlists import load_entry_rows
from anpr_engine.match.policy import CountryPolicy
from anpr_engine.match.reads import match_reads
from anpr_engine.match.watchlist import Watchlist
from anpr_engine.models import MODELS, first_error

log = logging.getLogger(__name__)
app = App(help="ANPR hit-matching engine: plate reads in, watchlist hits out as alerts.", no_args_is_help=True)

SuppressS = Annotated[
    float | None,
    typer.Option(min=0, help="One alert per (entry, site) within this many seconds of read time; 0 turns it off [60]."),
]
MaxEquiv = Annotated[
    int | None,
    typer.Option("--max-equivalences", min=0, max=2, help="OCR look-alike characters a hit may use [2]."),
]
MaxDiff = Annotated[
    int | None,
    typer.Option("--max-differences", min=0, max=2, help="Inserted or missing characters a hit may have [0]."),
]


def run_settings(
    bootstrap: str | None = None,
    reads_topic: str | None = None,
    alerts_topic: str | None = None,
    watchlist_topic: str | None = None,
    dlq_topic: str | None = None,
    group_id: str | None = None,
    max_equivalences: int | None = None,
    max_differences: int | None = None,
    batch_max_reads: int | None = None,
    country_policy: CountryPolicy | None = None,
    suppress_s: float | None = None,
    instance_id: str | None = None,
    covert_alerts_topic: str | None = None,
    retro_window_s: float | None = None,
    guarantee: Guarantee | None = None,
    workers: int | None = None,
    metrics_port: int | None = None,
) -> Settings:
    """The settings `run` works with: its options where given, else the environment, else the defaults."""
    given = {
        "group_id": group_id, "batch_max_reads": batch_max_reads, "instance_id": instance_id,
        "suppress_s": suppress_s, "retro_window_s": retro_window_s,
        "guarantee": guarantee, "workers": workers, "metrics_port": metrics_port,
    }  # fmt: skip
    extra: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    extra["match"] = match_policy(max_equivalences, max_differences, country_policy)
    return settings_from(bootstrap, reads_topic, alerts_topic, watchlist_topic, dlq_topic, covert_alerts_topic, **extra)


@app.command()
def run(
    bootstrap: Bootstrap = None,
    reads_topic: ReadsTopic = None,
    alerts_topic: AlertsTopic = None,
    watchlist_topic: WatchlistTopic = None,
    dlq_topic: DlqTopic = None,
    group_id: Annotated[str | None, typer.Option(help="Consumer group of the engine instances [anpr-engine].")] = None,
    max_equivalences: MaxEquiv = None,
    max_differences: MaxDiff = None,
    batch_max_reads: Annotated[int | None, typer.Option(min=1, help="Most messages taken per batch [20000].")] = None,
    country_policy: Annotated[
        CountryPolicy | None,
        typer.Option(
            case_sensitive=False,
            help="Entries of another plate country than the read's: strict never matches [lenient].",
        ),
    ] = None,
    suppress_s: SuppressS = None,
    instance_id: Annotated[
        str | None, typer.Option(help="Static group member id: a restarted instance resumes its partitions at once.")
    ] = None,
    covert_alerts_topic: CovertAlertsTopic = None,
    retro_window_s: Annotated[
        float | None,
        typer.Option(min=0, help="Seconds of recent reads kept for retro-hits on later-listed entries; 0: off [3600]."),
    ] = None,
    guarantee: Annotated[
        Guarantee | None,
        typer.Option(
            case_sensitive=False,
            help="exactly-once: alerts, dead letters and offsets in one Kafka transaction [at-least-once].",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Engine processes in the group, each a static member <instance id>-<i> [1]."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Serve /metrics, /healthz, /readyz on this port (worker i: port + i)."),
    ] = None,
    idle_exit_s: Annotated[
        float | None,
        typer.Option(help="Exit after this many seconds without reads (default: run until signalled)."),
    ] = None,
    stats_file: Annotated[Path | None, typer.Option(help="Write the run's counters here as JSON on exit.")] = None,
    config: ConfigFile = None,
) -> None:
    """Consume reads, match them against the watchlist topic, produce alerts; SIGINT/SIGTERM end it
    cleanly (exit 0); a Kafka failure it cannot get past exits 1 with one line. With --workers N,
    N such processes are run and supervised (see anpr_engine.cli.workers)."""
    settings = run_settings(
        bootstrap, reads_topic, alerts_topic, watchlist_topic, dlq_topic, group_id, max_equivalences,
        max_differences, batch_max_reads, country_policy, suppress_s, instance_id, covert_alerts_topic,
        retro_window_s, guarantee, workers, metrics_port,
    )  # fmt: skip
    configure_logging(settings)
    if settings.workers > 1:
        from anpr_engine.cli.workers import Supervisor

        argv = [sys.executable, "-m", "anpr_engine.cli.engine", *sys.argv[1:]]
        base_id = settings.instance_id or socket.gethostname()
        raise typer.Exit(Supervisor(argv, settings.workers, base_id, stats_file, settings.metrics_port).run())
    _report(_serve(settings, idle_exit_s), stats_file)


def _serve(settings: Settings, idle_exit_s: float | None) -> Stats:
    """The engine over Kafka: the watchlist loaded, then reads consumed until a signal (or idle_exit_s)."""
    from anpr_engine.engine.metrics import EngineMetrics, serve
    from anpr_engine.errors import StopRequested
    from anpr_engine.io.admin import engine_topics, ensure_topics
    from anpr_engine.io.kafka_engine import kafka_engine
    from anpr_engine.io.watchlist_topic import load_watchlist, watchlist_followers

    metrics = EngineMetrics(settings.summary_interval_s)
    if settings.metrics_port is not None:  # up before the watchlist loads: alive, not ready
        serve(metrics, settings.metrics_port, alive_within_s=2 * settings.flush_timeout_s + 30)
    ensure_topics(settings, only=engine_topics(settings))
    t0 = time.perf_counter()
    with ExitStack() as stack:
        followers = watchlist_followers(settings, stack)
        watchlist, bad = load_watchlist(followers, settings.match, settings.federation.party)
        log.info(
            "engine: watchlist %d entries (%d unusable) loaded in %.2fs from %s; consuming %s as group %s",
            len(watchlist), bad, time.perf_counter() - t0, ", ".join(f.topic for f in followers),
            settings.topics.reads, settings.group_id,
        )  # fmt: skip
        freeze_heap()
        engine, source = kafka_engine(settings, watchlist, followers)
        metrics.attach(engine, source.lag, lambda: source.ready_since() is not None)

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            engine.stop()
            source.request_stop()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        with source:
            try:
                return engine.run(max_idle_s=idle_exit_s)
            except StopRequested:
                log.warning("engine: stopped while the broker acknowledged nothing; what was not settled is read "
                            "again at the next start")  # fmt: skip
                return engine.stats


def _report(stats: Stats, stats_file: Path | None) -> None:
    log.info("engine: %s", stats.summary())
    if stats_file is not None:
        data = {k: v for k, v in vars(stats).items() if k != "rejected_plates"}
        data["rejected_plates"] = dict(stats.rejected_plates)
        stats_file.write_text(json.dumps(data) + "\n")


@app.command()
def match(
    reads: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Reads: .parquet, .jsonl or .csv.")],
    watchlist: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Watchlist: .csv, .jsonl, .parquet.")],
    out: Annotated[Path, typer.Option(help="Alerts as JSON lines.")],
    max_equivalences: MaxEquiv = None,
    max_differences: MaxDiff = None,
    suppress_s: SuppressS = None,
    country_policy: Annotated[
        CountryPolicy | None, typer.Option(case_sensitive=False, help="strict or lenient [lenient].")
    ] = None,
    party: Annotated[
        str | None, typer.Option(help="Federation: the party whose cameras made the reads (alerts' matched_in).")
    ] = None,
    partner: Annotated[
        list[str] | None,
        typer.Option(help="Federation: NAME=FILE, the entries partner NAME released to --party (repeatable)."),
    ] = None,
    config: ConfigFile = None,
) -> None:
    """Offline mode, no broker: match a file of reads against a watchlist file (and in a federation the
    partners' released entries, as that party's engine holds them) and write alerts."""
    party, partners = _federated(party, partner or [])
    wl = Watchlist(match_policy(max_equivalences, max_differences, country_policy), party=party)
    for name, path in [("", watchlist), *partners]:
        with input_file(path):
            entries, errors = load_entry_rows(path)
        for err in errors:
            typer.echo(f"{path}:{err.line}: {err.reason}", err=True)
        wl.upsert_rows(entries.of_party(name) if name else entries)
    with input_file(reads):
        table, rejects = read_reads_file(reads)
    for line, why in rejects:
        typer.echo(f"{reads}:{line}: {why}", err=True)
    stats = Stats()
    found = []
    window = Settings().suppress_s if suppress_s is None else suppress_s
    suppressor = Suppressor(int(window * 1000))
    for batch in table.sort_by("ts_ms").to_batches(max_chunksize=100_000):
        hits = match_reads(pa.Table.from_batches([batch]), wl, time.time_ns() // 1_000_000, stats.rejected_plates)
        kept = suppressor.keep(hits)
        stats.suppressed += len(hits) - len(kept)
        found.extend(kept)
    with out.open("w", encoding="utf-8") as f:
        for a in found:
            f.write(a.value.decode() + "\n")
    stats.reads, stats.dlq = table.num_rows, len(rejects)
    stats.alerts, stats.cross_border = len(found), sum(a.cross_border for a in found)
    _report(stats, None)


def _federated(party: str | None, given: list[str]) -> tuple[str | None, list[tuple[str, Path]]]:
    """--party and (partner, file) of each --partner NAME=FILE, checked as the settings' federation is."""
    if given and party is None:
        raise ConfigError("--partner needs --party (whose table the partners' entries are matched in)")
    names, files = [], []
    for item in given:
        name, sep, path = item.partition("=")
        if not sep or not Path(path).is_file():
            raise ConfigError(f"--partner {item!r}: give NAME=FILE of an existing file")
        names.append(name)
        files.append(Path(path))
    try:
        federation = Federation(party=party, partners=tuple(names))
    except ValidationError as e:
        raise ConfigError(f"--party/--partner: {first_error(e, 'federation')}") from e
    return federation.party, list(zip(federation.partners, files, strict=True))


@app.command()
def schemas(
    out_dir: Annotated[Path, typer.Argument(help="Folder for one <model>.schema.json per model.")] = Path("schemas"),
) -> None:
    """Export the JSON Schemas of the wire models (reads, watchlist entries, alerts)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, model in MODELS.items():
        schema = model.model_json_schema(mode="serialization" if name == "alert" else "validation")
        (out_dir / f"{name}.schema.json").write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    typer.echo(f"wrote {len(MODELS)} schemas to {out_dir}", err=True)


@app.command()
def topics(
    check: Annotated[bool, typer.Option("--check", help="Only report what differs; exit 1 if anything does.")] = False,
    acls: Annotated[bool, typer.Option("--acls", help="Also create the ACLs of the access settings.")] = False,
    bootstrap: Bootstrap = None,
    reads_topic: ReadsTopic = None,
    alerts_topic: AlertsTopic = None,
    watchlist_topic: WatchlistTopic = None,
    dlq_topic: DlqTopic = None,
    covert_alerts_topic: CovertAlertsTopic = None,
    config: ConfigFile = None,
) -> None:
    """Create the project's missing topics with their configured retention (and with --acls their
    ACLs); with --check, report instead the topics missing, the retention that differs from the
    configuration and, where access.acls says the cluster enforces ACLs, the ACLs missing or not
    configured."""
    from anpr_engine.io.admin import acl_differences, apply_acls, ensure_topics, topic_differences

    settings = settings_from(bootstrap, reads_topic, alerts_topic, watchlist_topic, dlq_topic, covert_alerts_topic)
    if not check:
        created = ensure_topics(settings)
        typer.echo(f"topics: created {', '.join(created) or 'none (all there)'}", err=True)
        if acls:
            typer.echo(f"topics: {apply_acls(settings)} ACLs set", err=True)
    differences = topic_differences(settings)
    if settings.access.acls:
        differences += acl_differences(settings)
    for line in differences:
        typer.echo(f"topics: {line}")
    if check:
        typer.echo(f"topics: {len(differences)} differences from the configuration", err=True)
        if differences:
            raise typer.Exit(1)


@app.command("config")
def show_config(
    show: Annotated[bool, typer.Option("--show", help="Print the effective settings as TOML.")] = False,
    config: ConfigFile = None,
) -> None:
    """Check the settings (TOML file, then ANPR_* environment, over the defaults): exit 2 with one line
    per problem; with --show, print them as TOML, secrets masked."""
    import tomli_w

    settings = Settings()
    source = config_file()
    if not show:
        typer.echo(f"config: valid ({source or 'no file'}, ANPR_* environment, defaults)", err=True)
        return
    typer.echo(f"# effective settings: {source or 'no file'}, under the ANPR_* environment; secrets masked")
    typer.echo(tomli_w.dumps(_without_none(settings.model_dump(mode="json"))), nl=False)


def _without_none(value: Any) -> Any:
    """TOML has no null: unset settings are left out (also those of a table in a list: console.users)."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_without_none(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(app())
