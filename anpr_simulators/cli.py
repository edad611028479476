"""`anpr-simulate`: border cameras publishing plate reads, sample watchlists, and file replay."""

from __future__ import annotations

import json
import random
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from anpr_engine.cli.common import Bootstrap, ConfigFile, ReadsTopic, settings_from
from anpr_engine.cli.errors import App, input_file
from anpr_engine.codec.reads import ARROW_STREAM, NDJSON, arrow_stream, encode_read, reads_to_table, table_to_json_lines
from anpr_engine.errors import BadInput, ConfigError
from anpr_engine.files.reads import read_reads_file, write_reads_file
from anpr_engine.files.watchlists import load_entries, write_entries
from anpr_engine.io.admin import ensure_topics
from anpr_engine.io.producer import AckedProducer, new_producer
from anpr_engine.models import PlateRead
from anpr_simulators.noise import NoiseModel
from anpr_simulators.traffic import Traffic, camera_country, make_watchlists, malformed_message


class BatchFormat(StrEnum):
    NDJSON = "ndjson"
    ARROW = "arrow"


app = App(help="Simulated ANPR border cameras at the Limburg crossings.", no_args_is_help=True)


class Pacer:
    """Sleeps so that item i goes out at start + i / rate (no sleep when rate is None: maximum speed)."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.start = time.perf_counter()

    def wait(self, i: int) -> None:
        if self.rate:
            ahead = self.start + i / self.rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)


def _progress(total: int | None, quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed} reads"),
        TimeRemainingColumn(), disable=quiet or total is None or total < 50_000, transient=True,
    )  # fmt: skip


@app.command()
def watchlists(
    out: Annotated[Path, typer.Option(help="Where to write the NL and BE sample lists (.jsonl, .csv, .parquet).")],
    size: Annotated[int, typer.Option(min=1, help="Entries per country.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed for reproducible lists.")] = 1,
    config: ConfigFile = None,
) -> None:
    """Write sample watchlists of both countries."""
    entries = make_watchlists(size, seed)
    write_entries(entries, out)
    typer.echo(f"simulate: wrote {len(entries)} watchlist entries to {out}")


@app.command()
def run(
    bootstrap: Bootstrap = None,
    reads_topic: ReadsTopic = None,
    rate: Annotated[float | None, typer.Option(help="Reads per second (default: as fast as possible).")] = 200.0,
    duration_s: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    count: Annotated[int | None, typer.Option(help="Stop after this many reads.")] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same reads.")] = 1,
    watchlist: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Draw listed vehicles from this watchlist file."),
    ] = None,
    watchlist_size: Annotated[int, typer.Option(help="Without --watchlist: sample entries per country.")] = 500,
    watchlist_out: Annotated[Path | None, typer.Option(help="Write the sample watchlists used here.")] = None,
    listed_share: Annotated[float, typer.Option(min=0, max=1, help="Share of reads showing a listed vehicle.")] = 0.02,
    noise: Annotated[bool, typer.Option(help="Apply OCR noise.")] = True,
    candidate_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of reads sent with 1-3 next-best readings (top-N OCR).")
    ] = NoiseModel().candidates,
    malformed_share: Annotated[float, typer.Option(min=0, max=1, help="Share of malformed messages.")] = 0.0,
    out: Annotated[Path | None, typer.Option(help="Also write the reads to this .parquet/.jsonl/.csv file.")] = None,
    truth_out: Annotated[
        Path | None, typer.Option(help="Write ground truth (read id → entry ids) as JSON lines.")
    ] = None,
    publish: Annotated[bool, typer.Option(help="Publish to Kafka (--no-publish: only write files).")] = True,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Reads per message: >1 publishes batched JSON-lines messages (a gateway).")
    ] = 1,
    batch_format: Annotated[
        BatchFormat, typer.Option(help="Format of batched messages: JSON lines or an Arrow IPC stream.")
    ] = BatchFormat.NDJSON,
    country: Annotated[
        str | None,
        typer.Option(
            help="Publish only the reads of this country's cameras (NL or BE, any case), e.g. to its own cluster "
            "in a federation. The traffic is the mixed run's: --count, --rate and --duration-s count the reads of "
            "all cameras, so the NL and BE runs with the same options together are the mixed run.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    config: ConfigFile = None,
) -> None:
    """Publish simulated reads (JSON, keyed by camera id) to the reads topic."""
    if duration_s is None and count is None:
        raise ConfigError("give --duration-s or --count")
    only = _country(country)
    if not publish and out is None:
        raise ConfigError("--no-publish needs --out")
    if watchlist is not None:
        with input_file(watchlist):
            entries, errors = load_entries(watchlist)
        if errors:
            first = errors[0]
            raise BadInput(f"{watchlist}: {len(errors)} invalid rows, first at line {first.line}: {first.reason}")
    else:
        entries = make_watchlists(watchlist_size, seed)
    if watchlist_out is not None:
        write_entries(entries, watchlist_out)
    traffic = Traffic(
        entries, seed=seed, listed_share=listed_share,
        noise=NoiseModel(candidates=candidate_share) if noise else NoiseModel.none(),
        live=publish and rate is not None,
    )  # fmt: skip
    rng = random.Random(seed ^ 0xBAD)
    settings = settings_from(bootstrap, reads=reads_topic)
    producer = None
    if publish:
        ensure_topics(settings)
        producer = AckedProducer(new_producer(settings, **{"linger.ms": 5}), settings.flush_timeout_s)
    kept = []
    truth = []
    pending: list[PlateRead] = []
    pacer = Pacer(rate)
    n = sent = bad = 0
    with _progress(count, quiet) as progress:
        task = progress.add_task("simulate", total=count)
        while (count is None or n < count) and (duration_s is None or time.perf_counter() - pacer.start < duration_s):
            pacer.wait(n)
            # drawn for every read of the border, in the mixed run's order, whichever are published
            broken = malformed_message(rng) if producer is not None and rng.random() < malformed_share else None
            sim = next(traffic)
            n += 1
            progress.advance(task)
            if only is not None and sim.read.camera_country != only:
                continue
            if producer is not None and broken is not None:  # a gateway of this country's cameras
                producer.produce(settings.topics.reads, broken, b"BROKEN-GATEWAY")
                bad += 1
            if producer is not None and batch_size == 1:
                producer.produce(settings.topics.reads, encode_read(sim.read), sim.read.camera_id.encode())
            elif producer is not None:
                pending.append(sim.read)
                if len(pending) == batch_size:
                    _publish_batch(producer, settings.topics.reads, pending, batch_format)
            if producer is not None and sent % 1000 == 0:
                producer.producer.poll(0)
            if out is not None:
                kept.append(sim.read)
            if truth_out is not None:
                truth.append({"read_id": sim.read.read_id, "entries": list(sim.truth),
                              "confusions": sim.confusions, "dropped": sim.dropped})  # fmt: skip
            sent += 1
    if producer is not None:
        if pending:
            _publish_batch(producer, settings.topics.reads, pending, batch_format)
        producer.flush()
    if out is not None:
        write_reads_file(reads_to_table(kept), out)
    if truth_out is not None:
        truth_out.write_text("".join(json.dumps(t) + "\n" for t in truth))
    where = f"to {settings.topics.reads}" if publish else f"to {out}"
    of = "" if only is None else f" (the cameras in {only}: {sent} of the border's {n})"
    typer.echo(f"simulate: {sent} reads and {bad} malformed messages {where}{of}")


def _country(country: str | None) -> str | None:
    """The camera country of --country (None: every camera); a country without cameras is a usage error."""
    if country is None:
        return None
    try:
        return camera_country(country)
    except ValueError as e:
        raise ConfigError(f"--country: {e}") from e


def _publish_batch(producer: AckedProducer, topic: str, pending: list[PlateRead], fmt: BatchFormat) -> None:
    """Many reads in one message, marked by its content-type header."""
    if fmt == BatchFormat.ARROW:
        value, ctype = arrow_stream(reads_to_table(pending)), ARROW_STREAM
    else:
        value, ctype = b"\n".join(encode_read(r) for r in pending), NDJSON
    producer.produce(topic, value, b"GATEWAY", [("content-type", ctype.encode())])
    pending.clear()


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Reads file (.parquet, .jsonl, .csv).")],
    bootstrap: Bootstrap = None,
    reads_topic: ReadsTopic = None,
    speed: Annotated[
        str,
        typer.Option(help="'real' (the reads' own timing), 'max', or a factor such as '10' (10x real time)."),
    ] = "max",
    config: ConfigFile = None,
) -> None:
    """Publish a file of reads to the reads topic, at real-time, accelerated or maximum speed."""
    if speed == "max":
        factor = None
    elif speed == "real":
        factor = 1.0
    else:
        try:
            factor = float(speed)
        except ValueError as e:
            raise ConfigError(f"--speed must be real, max or a number, not {speed!r}") from e
        if factor <= 0:
            raise ConfigError("--speed factor must be positive")
    with input_file(file):
        table, rejects = read_reads_file(file)
    for line, why in rejects:
        typer.echo(f"{file}:{line}: {why} (skipped)", err=True)
    table = table.sort_by("ts_ms")
    settings = settings_from(bootstrap, reads=reads_topic)
    ensure_topics(settings)
    producer = AckedProducer(new_producer(settings), settings.flush_timeout_s)
    values = table_to_json_lines(table).splitlines()
    cameras = table["camera_id"].to_pylist()
    ts = table["ts_ms"].to_numpy()
    t0 = time.perf_counter()
    with _progress(len(values), False) as progress:
        task = progress.add_task("replay", total=len(values))
        for i, (value, cam) in enumerate(zip(values, cameras, strict=True)):
            if factor is not None:
                ahead = t0 + (ts[i] - ts[0]) / 1000.0 / factor - time.perf_counter()
                if ahead > 0:
                    time.sleep(ahead)
            producer.produce(settings.topics.reads, value, cam.encode())
            if i % 1000 == 0:
                producer.producer.poll(0)
                progress.update(task, completed=i)
    producer.flush()
    typer.echo(f"simulate: replayed {len(values)} reads from {file} to {settings.topics.reads}")
