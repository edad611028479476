"""`run --workers N`: each worker's command line, and the supervisor's restarts and stop."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from anpr_engine.cli.workers import RESTARTS, Supervisor, worker_argv

# A stand-in worker: notes each start in a file named after its instance id, exits on SIGTERM or
# with the status named in a file.
WORKER = """
import os, signal, sys, time
wid = sys.argv[sys.argv.index("--instance-id") + 1]
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
d = os.environ["WORKER_DIR"]
open(os.path.join(d, wid), "a").write("x")
while True:
    if os.path.exists(os.path.join(d, "exit")):
        sys.exit(int(open(os.path.join(d, "exit")).read()))
    time.sleep(0.05)
"""


def test_a_worker_gets_the_command_line_without_the_supervisors_options_and_with_its_own() -> None:
    argv = ["anpr-engine", "run", "--workers", "3", "--group-id", "g", "--instance-id=a", "--stats-file", "s.json"]
    got = worker_argv(argv, "a-1", Path("s.worker1.json"))
    assert got == ["anpr-engine", "run", "--group-id", "g", "--workers", "1", "--instance-id", "a-1",
                   "--stats-file", "s.worker1.json"]  # fmt: skip


def _starts(d: Path, wid: str) -> int:
    p = d / wid
    return len(p.read_text()) if p.exists() else 0


def _until(done: object, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_killed_worker_is_started_again_and_a_stop_ends_them_all_cleanly(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WORKER_DIR", str(tmp_path))
    sup = Supervisor([sys.executable, "-c", WORKER], 2, "w", None)
    result: list[int] = []
    t = threading.Thread(target=lambda: result.append(sup.run(on_signals=False)))
    t.start()
    _until(lambda: _starts(tmp_path, "w-0") == 1 and _starts(tmp_path, "w-1") == 1)
    victim = sup.procs[1]
    assert victim is not None
    os.kill(victim.pid, signal.SIGKILL)
    _until(lambda: _starts(tmp_path, "w-1") == 2)
    assert _starts(tmp_path, "w-0") == 1  # the other one carried on
    sup.stop()
    t.join(20)
    assert result == [0]


def test_a_worker_failing_again_and_again_stops_them_all_with_status_1(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WORKER_DIR", str(tmp_path))
    (tmp_path / "exit").write_text("1")
    sup = Supervisor([sys.executable, "-c", WORKER], 2, "w", None)
    assert sup.run(on_signals=False) == 1
    assert len(sup.restarts) == RESTARTS
    assert _starts(tmp_path, "w-0") + _starts(tmp_path, "w-1") >= 2 + RESTARTS - 1  # the last may be stopped unstarted
