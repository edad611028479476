"""`anpr-engine run --workers N`: N engine processes in one consumer group, supervised together.

Each worker is this same command with `--workers 1` and its own static member id
(`<instance id>-<i>`), which also gives it a stable transactional id: a restarted worker takes its
partitions back at once and fences its zombie. A worker that dies without being asked (killed, or a
fatal Kafka error, exit 1) is started again; more than RESTARTS restarts within RESTART_WINDOW_S, or
an exit for a usage error (2), stops them all. SIGINT/SIGTERM stop every worker cleanly; the exit
status is 0 when all of them stopped cleanly.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from types import FrameType

RESTARTS = 5
RESTART_WINDOW_S = 60.0
_OWN = ("--workers", "--instance-id", "--stats-file", "--metrics-port")  # options the supervisor sets per worker


def worker_argv(
    argv: list[str], instance_id: str, stats_file: Path | None, metrics_port: int | None = None
) -> list[str]:
    """One worker's command line: `argv` (this process's, program first) without the options the
    supervisor sets, then those for this worker."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _OWN:
            skip = True
        elif not arg.startswith(tuple(o + "=" for o in _OWN)):
            out.append(arg)
    out += ["--workers", "1", "--instance-id", instance_id]
    if stats_file is not None:
        out += ["--stats-file", str(stats_file)]
    if metrics_port is not None:
        out += ["--metrics-port", str(metrics_port)]
    return out


class Supervisor:
    """Starts the workers, restarts those that die, stops them all on a signal."""

    def __init__(
        self, argv: list[str], n: int, base_id: str, stats_file: Path | None, metrics_port: int | None = None
    ) -> None:
        self.ids = [f"{base_id}-{i}" for i in range(n)]
        self.stats_file = stats_file
        ports = [None if metrics_port is None else metrics_port + i for i in range(n)]
        self.commands = [worker_argv(argv, wid, self._stats_of(i), ports[i]) for i, wid in enumerate(self.ids)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * n
        self.restarts: deque[float] = deque()
        self.stopping = False

    def _stats_of(self, i: int) -> Path | None:
        return None if self.stats_file is None else self.stats_file.with_suffix(f".worker{i}.json")

    def _start(self, i: int) -> None:
        self.procs[i] = subprocess.Popen(self.commands[i])

    def stop(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        self.stopping = True
        for p in self.procs:
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)

    def run(self, on_signals: bool = True) -> int:
        """Supervise until every worker has exited (stopping them all on SIGINT/SIGTERM, unless
        on_signals is off); returns the exit status."""
        if on_signals:
            signal.signal(signal.SIGINT, self.stop)
            signal.signal(signal.SIGTERM, self.stop)
        print(f"engine: {len(self.ids)} workers: {', '.join(self.ids)}", file=sys.stderr, flush=True)
        for i in range(len(self.ids)):
            self._start(i)
        status = 0
        while any(p is not None for p in self.procs):
            time.sleep(0.2)
            for i, p in enumerate(self.procs):
                if p is None or (code := p.poll()) is None:
                    continue
                self.procs[i] = None
                if code == 0 or self.stopping:
                    status = status or (code if code > 0 else 0)
                    continue
                status = self._after_death(i, code)
        self._merge_stats()
        return status

    def _after_death(self, i: int, code: int) -> int:
        """A worker died unasked: start it again, unless it cannot help (usage error, restarting too often)."""
        now = time.monotonic()
        while self.restarts and now - self.restarts[0] > RESTART_WINDOW_S:
            self.restarts.popleft()
        how = f"signal {-code}" if code < 0 else f"status {code}"
        if code == 2 or len(self.restarts) >= RESTARTS:
            why = "a usage error" if code == 2 else f"{RESTARTS} restarts within {RESTART_WINDOW_S:.0f} s"
            print(f"engine: worker {self.ids[i]} exited with {how}; stopping all ({why})", file=sys.stderr, flush=True)
            self.stop()
            return 1
        self.restarts.append(now)
        print(f"engine: worker {self.ids[i]} exited with {how}; starting it again", file=sys.stderr, flush=True)
        self._start(i)
        return 0

    def _merge_stats(self) -> None:
        """The workers' counters summed into stats_file (those of a restarted worker's last run only)."""
        if self.stats_file is None:
            return
        total: dict[str, object] = {}
        for i in range(len(self.ids)):
            path = self._stats_of(i)
            if path is None or not path.exists():
                continue
            for k, v in json.loads(path.read_text()).items():
                if isinstance(v, int | float) and not isinstance(v, bool) and not k.endswith("_at"):
                    total[k] = total.get(k, 0) + v  # type: ignore[operator]
        self.stats_file.write_text(json.dumps(total) + "\n")
