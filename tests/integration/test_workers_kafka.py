"""`anpr-engine run --workers 2` on the real broker, in exactly-once mode, with reads arriving all
along: one worker SIGKILLed (the supervisor starts it again), then another instance joins the group
and leaves it. Every expected alert is there once."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from anpr_engine.config import Settings
from tests.helpers.kafka import BIN, alert_pairs, engine_args, listed_traffic, steady, wait

pytestmark = pytest.mark.integration

READS = 100_000
RATE = 5_000


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_two_workers_one_killed_and_one_instance_joining_and_leaving_give_every_alert_once(
    settings: Settings, tmp_path: Path
) -> None:
    s = settings
    reads, expected = listed_traffic(s, tmp_path, 51, READS, 0.03)
    base = [str(BIN / "anpr-engine"), "run", *engine_args(s), "--group-id", s.group_id, "--suppress-s", "0",
            "--guarantee", "exactly-once", "--batch-max-reads", "500"]  # fmt: skip
    log, extra_log = tmp_path / "workers.log", tmp_path / "extra.log"
    with log.open("w") as err:
        sup = subprocess.Popen([*base, "--workers", "2", "--instance-id", "rb"], stderr=err)
    extra = None
    try:
        wait(lambda: log.read_text().count("consuming") == 2, "workers never started")
        cameras = threading.Thread(target=steady, args=(s, reads, RATE))
        cameras.start()
        wait(lambda: len(alert_pairs(s)) > 200, "no alert from the workers")
        workers = _children(sup.pid)
        assert len(workers) == 2
        subprocess.run(["kill", "-KILL", str(workers[0])], check=True)
        wait(lambda: "starting it again" in log.read_text(), "the killed worker was not started again")
        wait(lambda: log.read_text().count("consuming") == 3, "the restarted worker never consumed")
        with extra_log.open("w") as err:  # joins the group: a rebalance
            extra = subprocess.Popen([*base, "--instance-id", "rb-extra"], stderr=err)
        wait(lambda: "consuming" in extra_log.read_text(), "the joining instance never started")
        time.sleep(3)
        extra.send_signal(signal.SIGTERM)  # and leaves it
        assert extra.wait(60) == 0, extra_log.read_text()[-2000:]
        cameras.join(120)
        wait(lambda: set(alert_pairs(s)) >= expected, "alerts missing", timeout_s=120)
        assert sup.poll() is None, log.read_text()[-3000:]
    finally:
        sup.send_signal(signal.SIGTERM)
        sup.wait(90)
        if extra is not None and extra.poll() is None:
            extra.kill()
    assert sup.returncode == 0, log.read_text()[-3000:]
    pairs = alert_pairs(s)
    print(f"\nFIGURES rebalance exactly-once: reads={READS} expected={len(expected)} "
          f"found={len(set(pairs) & expected)} missing={len(expected - set(pairs))} "
          f"duplicated={sum(n - 1 for n in pairs.values())}")  # fmt: skip
    assert set(pairs) == expected
    assert max(pairs.values()) == 1, [p for p, n in pairs.items() if n > 1][:5]
