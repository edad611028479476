"""Back-pressure on the real broker: the broker stopped mid-run for longer than the engine's flush
timeout (2 s here, which used to end the run with an error) and started again. The engine waits,
fetching paused and its group membership kept, and then delivers every alert, once each in
exactly-once mode. (Making only the alerts topic unwritable needs more than one broker: see
tests/cluster.) Dynamic membership: a static member whose session times out in an outage is fenced
by librdkafka itself (issue 3437) and exits, which test_a_fenced_instance_exits_with_one_line covers."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from anpr_engine.codec.reads import encode_read
from anpr_engine.config import Settings
from anpr_simulators.traffic import Traffic, make_watchlists
from tests.helpers.kafka import (
    BIN,
    alert_pairs,
    engine_args,
    listed_traffic,
    produce,
    steady,
    terminate,
    wait,
    within,
)

pytestmark = pytest.mark.integration

READS = 60_000
OUTAGE_S = 12.0
KAFKA_SH = Path(__file__).parents[2] / "kafka" / "kafka.sh"
# metadata asked for every 200 ms, so that the engine's clients see the broker's shutdown: librdkafka
# 2.16 then dropped every broker for good (issue 5301; the README's Kafka client pin)
REFRESH = {"ANPR_KAFKA_EXTRA": json.dumps({"topic.metadata.refresh.interval.ms": 200})}


@pytest.mark.skipif(bool(os.environ.get("ANPR_KAFKA_BOOTSTRAP")), reason="stops the local broker kafka.sh started")
@pytest.mark.broker_restart
@pytest.mark.parametrize("guarantee", ["exactly-once", "at-least-once"])
def test_a_broker_outage_longer_than_the_flush_timeout_pauses_the_engine_and_loses_nothing(
    settings: Settings, tmp_path: Path, guarantee: str
) -> None:
    s = settings
    reads, expected = listed_traffic(s, tmp_path, 31, READS, 0.05)
    log = tmp_path / "engine.log"
    cmd = [str(BIN / "anpr-engine"), "run", *engine_args(s), "--group-id", s.group_id, "--suppress-s", "0",
           "--retro-window-s", "0", "--guarantee", guarantee, "--batch-max-reads", "500"]  # fmt: skip
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stderr=err, env={**os.environ, "ANPR_FLUSH_TIMEOUT_S": "2", **REFRESH})
    try:
        wait(lambda: "consuming" in log.read_text(), "engine never started")
        cameras = threading.Thread(target=steady, args=(s, reads, READS / 20))  # alerts pending when it stops
        cameras.start()
        wait(lambda: len(alert_pairs(s)) > 100, "no alert before the outage")
        subprocess.run([str(KAFKA_SH), "down"], check=True, capture_output=True)
        try:
            deadline = time.monotonic() + OUTAGE_S
            while time.monotonic() < deadline:
                assert proc.poll() is None, log.read_text()[-2000:]
                time.sleep(0.2)
        finally:
            subprocess.run([str(KAFKA_SH), "up"], check=True, capture_output=True)
        cameras.join(300)
        found = within(lambda: set(alert_pairs(s)) >= expected, 180)
        assert found, f"alerts missing after the outage; the engine's log ends:\n{log.read_text()[-3000:]}"
        assert proc.poll() is None, log.read_text()[-2000:]
    finally:
        terminate(proc)
    assert proc.returncode == 0, log.read_text()[-2000:]
    text = log.read_text()  # a stall, if the outage caught a batch unsettled, ended
    assert text.count("fetching paused") == text.count("acknowledges again"), text[-2000:]
    pairs = alert_pairs(s)
    assert set(pairs) == expected
    if guarantee == "exactly-once":
        assert max(pairs.values()) == 1, [p for p, n in pairs.items() if n > 1][:5]


def test_a_fenced_instance_exits_non_zero_with_one_line(settings: Settings, tmp_path: Path) -> None:
    """Two engines started with the same --instance-id fence each other (static group member,
    transactional producer; which one loses depends on who re-initialises last): one of them must
    exit 1 with one line, not idle for ever, and the other carries on."""
    s = settings
    cmd = [str(BIN / "anpr-engine"), "run", *engine_args(s), "--group-id", s.group_id, "--guarantee",
           "exactly-once", "--instance-id", "twin"]  # fmt: skip
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for log in logs:
            with log.open("w") as err:
                procs.append(subprocess.Popen(cmd, stderr=err))
            wait(lambda log=log: "consuming" in log.read_text(), f"{log.name} never started")  # type: ignore[misc]
        produce(s, s.topics.reads, [(b"k", encode_read(r)) for r in _reads(50)])
        wait(lambda: any(p.poll() is not None for p in procs), "neither engine exited", timeout_s=90)
        loser = next(i for i, p in enumerate(procs) if p.poll() is not None)
        assert procs[loser].returncode == 1
        errors = [line for line in logs[loser].read_text().splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "fenced" in errors[0].lower(), errors
        time.sleep(2)
        assert procs[1 - loser].poll() is None, logs[1 - loser].read_text()[-2000:]
    finally:
        for p in procs:
            p.kill()
            p.wait(30)


def _reads(n: int) -> list:  # type: ignore[type-arg]
    entries = make_watchlists(5, 3)
    return [x.read for x in Traffic(entries, seed=3, listed_share=0.5).take(n)]
