"""`anpr-simulate run --country C`: one country's cameras only, from the mixed run's traffic.

In a federation each party publishes its own cameras' reads to its own cluster. The traffic model
draws every read independently (vehicle, then camera), so a country's run is the mixed run filtered
by camera country: the same reads in the same order, the same listed vehicles (a vehicle listed by
BE is also read by NL's cameras), and --count / --rate count the reads of all cameras. Hence the NL
and BE runs with the same options together are exactly the mixed run (the simulator has cameras in
NL and BE only), malformed messages included.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner, Result

import anpr_simulators.cli as simulate
from anpr_engine.config import use_config_file
from anpr_simulators.traffic import CAMERAS, camera_country

CLEAN = {"ANPR_CONFIG": None, "ANPR_LOG_LEVEL": None, "ANPR_KAFKA_BOOTSTRAP": None, "COLUMNS": "200"}
RUN = ["run", "--count", "800", "--rate", "0", "--seed", "5", "--watchlist-size", "40", "--listed-share", "0.3",
       "--quiet"]  # fmt: skip


@pytest.fixture(autouse=True)
def no_config_left() -> Iterator[None]:
    use_config_file(None)
    yield
    use_config_file(None)


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(simulate.app, args, env=CLEAN)


def to_file(tmp_path: Path, name: str, *extra: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The reads and the ground truth of a run written to files (no broker). The reads' times start
    at the wall clock of the run: see same_times."""
    out, truth = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.truth.jsonl"
    done = invoke([*RUN, "--no-publish", "--out", str(out), "--truth-out", str(truth), *extra])
    assert done.exit_code == 0, done.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    return lines, [json.loads(x) for x in truth.read_text().splitlines()]


def test_a_country_run_publishes_only_its_cameras_reads_in_the_mixed_runs_order(tmp_path: Path) -> None:
    mixed, mixed_truth = to_file(tmp_path, "mixed")
    nl, nl_truth = to_file(tmp_path, "nl", "--country", "NL")
    assert {r["camera_country"] for r in mixed} == {"NL", "BE"}
    assert nl and {r["camera_country"] for r in nl} == {"NL"}
    # the mixed run's NL reads, unchanged (ids, plates, noise, times) and in order, with their truth
    mixed_nl = [r for r in mixed if r["camera_country"] == "NL"]
    assert timeless(nl) == timeless(mixed_nl)
    assert same_times(nl, mixed_nl)
    nl_ids = {r["read_id"] for r in nl}
    assert nl_truth == [t for t in mixed_truth if t["read_id"] in nl_ids]
    # the same vehicles cross the border: BE's listed vehicles are read by NL's cameras too
    assert any(e.startswith("BE-") for t in nl_truth for e in t["entries"])


def test_the_countries_runs_together_are_the_mixed_run(tmp_path: Path) -> None:
    mixed, _ = to_file(tmp_path, "mixed")
    nl, _ = to_file(tmp_path, "nl", "--country", "nl")  # any case
    be, _ = to_file(tmp_path, "be", "--country", "Be")
    assert {r["camera_country"] for r in be} == {"BE"}
    assert len(nl) + len(be) == len(mixed) == 800
    together = sorted(nl + be, key=lambda r: r["read_id"])
    assert timeless(together) == timeless(sorted(mixed, key=lambda r: r["read_id"]))


def timeless(reads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "ts_ms"} for r in reads]


def same_times(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """The reads' times differ by one constant: the same timeline, started at another wall clock."""
    return len({x["ts_ms"] - y["ts_ms"] for x, y in zip(a, b, strict=True)}) == 1


@pytest.mark.parametrize("country", ["DE", "xx", ""])
def test_a_country_without_cameras_is_a_usage_error(country: str, tmp_path: Path) -> None:
    done = invoke([*RUN, "--no-publish", "--out", str(tmp_path / "r.jsonl"), "--country", country])
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert done.exit_code == 2, done.output
    assert len(lines) == 1 and lines[0].startswith("error: --country: no cameras in"), lines
    assert "BE, NL" in lines[0]
    assert not (tmp_path / "r.jsonl").exists()


def test_camera_country_names_the_countries_with_cameras() -> None:
    assert {camera_country(c.country.lower()) for c in CAMERAS} == {"NL", "BE"}
    with pytest.raises(ValueError, match="no cameras"):
        camera_country("LU")


class FakeProducer:
    """Stands in for AckedProducer: what a run publishes, in order."""

    sent: ClassVar[list[tuple[str, bytes, bytes]]] = []

    def __init__(self, producer: object, timeout_s: float) -> None:
        self.producer = self

    def produce(self, topic: str, value: bytes, key: bytes, headers: object = None) -> None:
        self.sent.append((topic, key, value))

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self) -> None:
        pass


def published(monkeypatch: pytest.MonkeyPatch, *extra: str) -> list[tuple[bytes, bytes]]:
    """(key, value) of every message a run publishes (no broker: the producer is a fake); the reads'
    times left out (publishing stamps them with the wall clock)."""
    monkeypatch.setattr(simulate, "ensure_topics", lambda settings: [])
    monkeypatch.setattr(simulate, "new_producer", lambda settings, **kw: None)
    monkeypatch.setattr(simulate, "AckedProducer", FakeProducer)
    FakeProducer.sent = []
    done = invoke([*RUN, "--malformed-share", "0.05", *extra])
    assert done.exit_code == 0, done.output

    def timeless(value: bytes) -> bytes:
        try:
            read = json.loads(value)
        except ValueError:
            return value
        return json.dumps({k: v for k, v in read.items() if k != "ts_ms"}).encode() if isinstance(read, dict) else value

    return [(key, timeless(value)) for _, key, value in FakeProducer.sent]


def test_published_messages_malformed_ones_included_split_between_the_countries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mixed = published(monkeypatch)
    nl = published(monkeypatch, "--country", "NL")
    be = published(monkeypatch, "--country", "BE")
    broken = b"BROKEN-GATEWAY"
    assert sum(k == broken for k, _ in mixed) > 10
    assert Counter(nl) + Counter(be) == Counter(mixed)
    assert {k.decode()[:3] for k, _ in nl if k != broken} == {"NL-"}
    assert {k.decode()[:3] for k, _ in be if k != broken} == {"BE-"}
    assert sum(k == broken for k, _ in nl) and sum(k == broken for k, _ in be)
