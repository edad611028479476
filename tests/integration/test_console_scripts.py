"""The console scripts as a new user runs them: --help, then a short run of the demo's pieces."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from anpr_engine.config import Settings
from anpr_engine.models import Alert
from tests.helpers.kafka import BIN, cli_args, run_engine, topic_values

pytestmark = pytest.mark.integration


def sh(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False, env=env)


@pytest.mark.parametrize(
    "cmd",
    [
        ["anpr-engine", "--help"], ["anpr-engine", "run", "--help"], ["anpr-engine", "match", "--help"],
        ["anpr-simulate", "--help"], ["anpr-simulate", "run", "--help"], ["anpr-simulate", "replay", "--help"],
        ["anpr-watchlist", "--help"], ["anpr-watchlist", "publish", "--help"], ["anpr-watchlist", "add", "--help"],
        ["anpr-watchlist", "remove", "--help"], ["anpr-watchlist", "ls", "--help"], ["anpr-alerts", "--help"],
        ["anpr-watchlist", "release", "--help"], ["anpr-watchlist", "export", "--help"],
        ["anpr-federation", "--help"], ["anpr-federation", "crossed", "--help"],
    ],
)  # fmt: skip
def test_help(cmd: list[str]) -> None:
    done = sh(str(BIN / cmd[0]), *cmd[1:])
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout
    if cmd[-2:] == ["run", "--help"] or cmd[0] == "anpr-alerts":
        assert "--bootstrap-servers" in done.stdout


def test_demo_pieces_short_run(settings: Settings, tmp_path: Path) -> None:
    args = cli_args(settings)
    wl = tmp_path / "wl.csv"
    done = sh(str(BIN / "anpr-simulate"), "watchlists", "--size", "50", "--out", str(wl))
    assert done.returncode == 0, done.stderr
    with wl.open("a") as f:  # one bad row: reported, the rest still published
        f.write("bad-1;;NL;l;a;NL;stolen_vehicle;10;stop_and_check;;;;0\n")
    done = sh(str(BIN / "anpr-watchlist"), "publish", str(wl), "--bootstrap-servers", settings.bootstrap_servers,
              "--watchlist-topic", settings.topics.watchlist)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "published 100 entries" in done.stdout and ":102: plate" in done.stderr
    done = sh(str(BIN / "anpr-simulate"), "run", *args[:4], "--watchlist", str(tmp_path / "none"), "--count", "1")
    assert done.returncode != 0 and "Traceback" not in done.stderr  # a clear error, not a crash
    reads_file = tmp_path / "reads.jsonl"
    done = sh(str(BIN / "anpr-simulate"), "run", "--count", "400", "--rate", "0", "--seed", "3", "--watchlist-size",
              "50", "--listed-share", "0.2", "--no-publish", "--out", str(reads_file))  # fmt: skip
    assert done.returncode == 0, done.stderr and reads_file.exists()
    done = sh(str(BIN / "anpr-simulate"), "replay", str(reads_file), *args[:4], "--speed", "max")
    assert done.returncode == 0, done.stderr
    done = sh(str(BIN / "anpr-simulate"), "run", *args[:4], "--count", "300", "--rate", "2000", "--quiet",
              "--watchlist-size", "50", "--listed-share", "0.2", "--malformed-share", "0.02")  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = sh(str(BIN / "anpr-simulate"), "run", *args[:4], "--count", "200", "--rate", "0", "--quiet",
              "--watchlist-size", "50", "--listed-share", "0.2", "--batch-size", "64")  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = sh(str(BIN / "anpr-simulate"), "run", *args[:4], "--count", "100", "--rate", "0", "--quiet",
              "--watchlist-size", "50", "--batch-size", "30", "--batch-format", "arrow")  # fmt: skip
    assert done.returncode == 0, done.stderr
    engine = run_engine(settings)
    assert engine.returncode == 0, engine.stderr
    assert "engine: reads=1000" in engine.stderr
    tail = sh(str(BIN / "anpr-alerts"), "--bootstrap-servers", settings.bootstrap_servers, "--alerts-topic",
              settings.topics.alerts, "--json", "--from-beginning", "--idle-timeout-s", "3")  # fmt: skip
    assert tail.returncode == 0, tail.stderr
    alerts = [Alert.model_validate_json(line) for line in tail.stdout.splitlines()]
    assert len(alerts) > 20
    assert all(json.loads(line)["alert_id"] for line in tail.stdout.splitlines())
    text = sh(str(BIN / "anpr-alerts"), "--bootstrap-servers", settings.bootstrap_servers, "--alerts-topic",
              settings.topics.alerts, "--from-beginning", "--idle-timeout-s", "3", "--country", "BE",
              "--min-priority", "10")  # fmt: skip
    lines = text.stdout.splitlines()
    want = [a for a in alerts if "BE" in (a.read.camera_country, a.entry.agency_country) and a.entry.priority <= 10]
    assert len(lines) == len(want) > 0
    # partitions interleave differently on each run: compare counts, not order
    assert sum("CROSS-BORDER" in ln for ln in lines) == sum(a.cross_border for a in want)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_wildcard_entries_load_from_every_file_format(settings: Settings, tmp_path: Path, suffix: str) -> None:
    """A witness's partial plate (`12-AB*`) through check, publish and offline match, beside a plain plate
    and a pattern the watchlist refuses (too few characters named)."""
    import pyarrow.parquet as pq

    from anpr_engine.codec.reads import reads_to_table
    from anpr_engine.files.watchlists import write_entries
    from anpr_engine.models import Category, PlateRead, WatchlistEntry

    def entry(i: int, plate: str) -> WatchlistEntry:
        return WatchlistEntry(entry_id=f"w{i}", plate=plate, list_name="witness", agency="Politie Limburg",
                              agency_country="NL", category=Category.BURGLARY)  # fmt: skip

    good = [entry(0, "12-AB*"), entry(1, "*-XY-9*"), entry(2, "88-ZZ-11")]
    wl = tmp_path / f"wl{suffix}"
    write_entries([*good, entry(3, "1*")], wl)
    done = sh(str(BIN / "anpr-watchlist"), "check", str(wl))
    assert done.returncode == 1 and "3 valid entries, 1 rows rejected" in done.stdout, done.stdout + done.stderr
    assert ":5: plate: pattern '1*'" in done.stderr or ":4: plate: pattern '1*'" in done.stderr, done.stderr
    done = sh(str(BIN / "anpr-watchlist"), "publish", str(wl), *cli_args(settings)[:2],
              "--watchlist-topic", settings.topics.watchlist)  # fmt: skip
    assert done.returncode == 0 and "published 3 entries" in done.stdout, done.stdout + done.stderr
    reads = tmp_path / "reads.parquet"
    base = {"camera_id": "BE-1", "camera_country": "BE", "site": "A2 Eijsden", "lane": 0, "direction": "inbound",
            "ts_ms": 1_795_000_000_000, "confidence": 0.9}  # fmt: skip
    texts = ["12-AB-77", "3-XY-91", "88 zz 11", "99-QQ-99"]
    rows = [PlateRead.model_validate({**base, "read_id": f"r{i}", "plate_text": t}) for i, t in enumerate(texts)]
    pq.write_table(reads_to_table(rows), reads)
    out = tmp_path / "alerts.jsonl"
    done = sh(str(BIN / "anpr-engine"), "match", "--reads", str(reads), "--watchlist", str(wl), "--out", str(out))
    assert done.returncode == 0, done.stderr
    got = {
        (a.read.read_id, a.entry.entry_id, a.match.kind.value)
        for a in map(Alert.model_validate_json, out.read_text().splitlines())
    }
    assert got == {("r0", "w0", "wildcard"), ("r1", "w1", "wildcard"), ("r2", "w2", "exact")}
    done = sh(str(BIN / "anpr-watchlist"), "check-archive", str(wl), "--reads", str(reads))
    assert done.returncode == 0 and "3 retro alerts from 4 archived reads" in done.stderr, done.stderr
    archive = [Alert.model_validate_json(line) for line in done.stdout.splitlines()]
    assert {(a.read.read_id, a.entry.entry_id, a.match.kind.value) for a in archive} == got
    assert all(a.retro for a in archive)


def test_watchlist_add_ls_and_remove(settings: Settings) -> None:
    wl = [*cli_args(settings)[:2], "--watchlist-topic", settings.topics.watchlist]
    common = ["--list-name", "wanted", "--agency", "Politie Limburg", "--agency-country", "NL"]
    cmd = str(BIN / "anpr-watchlist")
    done = sh(cmd, "add", "--plate", "12-BD-34", *common, "--category", "wanted_person", "--valid-for-s", "3600", *wl)
    assert done.returncode == 0 and "added NL-wanted-12BD34-ANY" in done.stdout, done.stdout + done.stderr
    done = sh(cmd, "add", "--plate", "XY-12*", *common, "--category", "burglary", "--entry-id", "w-1", *wl)
    assert done.returncode == 0, done.stderr
    done = sh(cmd, "add", "--plate", "1*", *common, "--category", "burglary", *wl)  # names too few characters
    assert done.returncode == 2 and "name at least 3 characters" in done.stderr and "Traceback" not in done.stderr
    done = sh(cmd, "ls", "--json", *wl)
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)["counts"]
    assert {(r["category"], r["entries"]) for r in counts} == {("wanted_person", 1), ("burglary", 1)}
    done = sh(cmd, "remove", "--plate", "12 bd 34", *wl)
    assert done.returncode == 0 and "removed 1 entries: NL-wanted-12BD34-ANY" in done.stdout, done.stderr
    done = sh(cmd, "remove", "--plate", "12 bd 34", *wl)
    assert done.returncode == 1 and "no listed entry matches" in done.stderr
    done = sh(cmd, "remove", "--entry-id", "w-1", *wl)
    assert done.returncode == 0, done.stderr
    done = sh(cmd, "ls", "--json", *wl)
    assert json.loads(done.stdout) == {"counts": [], "lists": []}


def test_set_list_add_with_its_defaults_and_replace(settings: Settings, tmp_path: Path) -> None:
    wl = [*cli_args(settings)[:2], "--watchlist-topic", settings.topics.watchlist]
    cmd = str(BIN / "anpr-watchlist")
    done = sh(cmd, "set-list", "new-wanted", "--agency", "Federale Politie", "--agency-country", "BE",
              "--category", "wanted_person", "--priority", "5", "--default-validity-s", "86400", *wl)  # fmt: skip
    assert done.returncode == 0 and "created" in done.stdout, done.stderr
    done = sh(cmd, "add", "--plate", "1-ABC-234", "--list-name", "new-wanted", *wl)  # everything else from the list
    assert done.returncode == 0, done.stderr
    done = sh(cmd, "set-list", "new-wanted", "--covert", *wl)
    assert done.returncode == 0 and "changed" in done.stdout, done.stderr
    listed = json.loads(sh(cmd, "ls", "--json", *wl).stdout)
    (entry,) = [json.loads(v) for v in topic_values(settings, settings.topics.watchlist) if b'"plate"' in v]
    assert (entry["agency_country"], entry["category"], entry["priority"]) == ("BE", "wanted_person", 5)
    assert entry["valid_until_ms"] - entry["valid_from_ms"] == 86_400_000  # the list's default validity
    assert listed["counts"] == [
        {"list_name": "new-wanted", "agency_country": "BE", "category": "wanted_person", "entries": 1, "covert": True}
    ]
    assert [(lst["list_name"], lst["covert"], lst["priority"]) for lst in listed["lists"]] == [("new-wanted", True, 5)]

    export = tmp_path / "nightly.csv"
    export.write_text("plate;list_name\n2-XYZ-345;\n3-KLM-456;new-wanted\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("plate;list_name\n2-XYZ-345;\n3-KLM-456;other-list\n")
    done = sh(cmd, "replace", str(bad), "--list-name", "new-wanted", *wl)
    assert done.returncode == 1 and f"{bad}:3: list_name" in done.stderr  # nothing replaced
    done = sh(cmd, "replace", str(export), "--list-name", "new-wanted", *wl)
    assert done.returncode == 0 and "generation 1: 2 entries, 1 of earlier generations removed" in done.stdout
    listed = json.loads(sh(cmd, "ls", "--json", *wl).stdout)
    assert [c["entries"] for c in listed["counts"]] == [2] and listed["lists"][0]["generation"] == 1


@pytest.mark.parametrize("guarantee", ["at-least-once", "exactly-once"])
def test_run_without_a_reachable_broker_exits_1_with_one_line(guarantee: str) -> None:
    env = {**os.environ, "ANPR_FLUSH_TIMEOUT_S": "2"}
    done = subprocess.run(
        [str(BIN / "anpr-engine"), "run", "--bootstrap-servers", "127.0.0.1:1", "--guarantee", guarantee],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: kafka: ") and "Traceback" not in done.stderr
