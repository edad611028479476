"""Kill tests on the real broker: the engine SIGKILLed at random moments and restarted, in both
delivery modes, against offline `anpr-engine match` over the same reads and watchlist."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from anpr_engine.codec.reads import encode_read
from anpr_engine.config import Settings
from tests.helpers.kafka import BIN, engine_args, listed_traffic, produce, run_engine, topic_values, wait

pytestmark = pytest.mark.integration

READS = 200_000
KILLS = 5


@pytest.mark.parametrize("guarantee", ["exactly-once", "at-least-once"])
def test_killed_again_and_again_loses_no_alert_and_in_exactly_once_mode_repeats_none(
    settings: Settings, tmp_path: Path, guarantee: str
) -> None:
    s = settings
    reads, expected = listed_traffic(s, tmp_path, 21, READS, 0.02)
    assert len(expected) > 2_000
    produce(s, s.topics.reads, [(r.camera_id.encode(), encode_read(r)) for r in reads])
    member = ["--instance-id", "kill-test", "--guarantee", guarantee, "--batch-max-reads", "200"]
    cmd = [str(BIN / "anpr-engine"), "run", *engine_args(s), "--group-id", s.group_id, "--suppress-s", "0", *member]
    rnd = random.Random(7)
    for k in range(KILLS):
        log = tmp_path / f"run{k}.log"
        with log.open("w") as err:
            proc = subprocess.Popen(cmd, stderr=err)
        try:
            wait(lambda log=log: "consuming" in log.read_text(), f"run {k} never started")  # type: ignore[misc]
            time.sleep(rnd.uniform(0.5, 2.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
    done = run_engine(s, *member, timeout=300)
    assert done.returncode == 0, done.stderr
    alerts = [json.loads(v) for v in topic_values(s, s.topics.alerts)]  # read_committed, librdkafka's default
    pairs = Counter((a["read"]["read_id"], a["entry"]["entry_id"]) for a in alerts)
    print(f"\nFIGURES kill {guarantee}: reads={READS} kills={KILLS} expected={len(expected)} "
          f"found={len(set(pairs) & expected)} missing={len(expected - set(pairs))} "
          f"duplicated={sum(n - 1 for n in pairs.values())}")  # fmt: skip
    print("\n".join(line for line in done.stderr.splitlines() if "took over" in line))
    assert set(pairs) == expected  # none lost, none that offline matching does not give
    if guarantee == "exactly-once":
        assert max(pairs.values()) == 1, [p for p, n in pairs.items() if n > 1][:5]
    else:
        ids: dict[tuple[str, str], set[str]] = {}
        for a in alerts:
            ids.setdefault((a["read"]["read_id"], a["entry"]["entry_id"]), set()).add(a["alert_id"])
        assert all(len(v) == 1 for v in ids.values())  # a repeat carries the same alert id
