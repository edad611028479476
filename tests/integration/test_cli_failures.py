"""The console scripts against the real broker: each works the first time on topics the cluster never
held (each creates what it uses and waits until the metadata shows it: `anpr-watchlist publish` on
a cluster that never held the watchlist topic failed with UNKNOWN_TOPIC_OR_PART, and worked the
second time), and what the broker refuses is one line on stderr and exit 1 (anpr_engine.cli.errors).
The same as a fresh cluster: the tools see only their own topics, named here for this run."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from anpr_engine.config import Settings

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent


def new_topics() -> dict[str, str]:
    """Every topic of the settings, named for one command: never used on the cluster."""
    run = uuid.uuid4().hex[:10]
    names = ("reads", "alerts", "alerts_covert", "watchlist", "dlq", "feedback", "audit")
    return {f"ANPR_TOPICS__{name.upper()}": f"fresh.{run}.{name}" for name in names} | {"ANPR_GROUP_ID": f"g.{run}"}


def start(*cmd: str, env: dict[str, str]) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_") or k == "ANPR_KAFKA_BOOTSTRAP"}
    return subprocess.Popen(
        [str(BIN / cmd[0]), *cmd[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**base, "ANPR_KAFKA_BOOTSTRAP": Settings().bootstrap_servers, "COLUMNS": "200", **env},
    )  # fmt: skip


def test_every_tool_works_the_first_time_on_topics_the_cluster_never_held(tmp_path: Path) -> None:
    wl = tmp_path / "wl.csv"
    wl.write_text("plate;list_name;agency;agency_country;category\n12-AB-34;x;a;NL;burglary\n")
    entry = ["--plate", "12-AB-34", "--list-name", "x", "--agency", "a", "--agency-country", "NL"]
    entry += ["--category", "burglary"]
    procs = {  # side by side, each on its own new topics
        "publish": start("anpr-watchlist", "publish", str(wl), env=new_topics()),
        "ls": start("anpr-watchlist", "ls", "--json", env=new_topics()),
        "add": start("anpr-watchlist", "add", *entry, env=new_topics()),
        "alerts": start("anpr-alerts", "--idle-timeout-s", "1", env=new_topics()),
        "engine": start("anpr-engine", "run", "--idle-exit-s", "1", env=new_topics()),
        "report": start("anpr-console", "report", "--json", env=new_topics()),
        "topics --check": start("anpr-engine", "topics", "--check", env=new_topics()),
    }
    done = {what: (p.communicate(timeout=120), p.returncode) for what, p in procs.items()}
    for what, ((out, err), code) in done.items():
        expected = 1 if what == "topics --check" else 0  # --check creates nothing: the topics are missing
        assert code == expected, f"{what}: exit {code}\n{out}{err}"
        assert "Traceback" not in err and "UNKNOWN_TOPIC_OR_PART" not in err, f"{what}:\n{err}"
    assert "published 1 entries" in done["publish"][0][0]
    assert done["ls"][0][0].strip() == '{"counts": [], "lists": []}'
    assert "added NL-x-12AB34-ANY" in done["add"][0][0]
    assert "engine: reads=0 alerts=0" in done["engine"][0][1]
    assert done["report"][0][0].strip() == "[]"
    assert ": missing" in done["topics --check"][0][0]


def test_what_the_broker_refuses_is_one_line_and_exit_1(tmp_path: Path) -> None:
    latin1 = tmp_path / "wl.csv"
    latin1.write_bytes(b"plate;list_name\n\xe9\xff;x\n")
    procs = {
        "bad topic name": start("anpr-alerts", "--alerts-topic", "not a topic name!", env=new_topics()),
        "unreadable file": start("anpr-watchlist", "publish", str(latin1), env=new_topics()),
    }
    said = {"bad topic name": "error: kafka: creating topic not a topic name!: TOPIC_EXCEPTION: Topic name is invalid",
            "unreadable file": f"error: {latin1}: not UTF-8 text"}  # fmt: skip
    for what, p in procs.items():
        out, err = p.communicate(timeout=120)
        lines = [line for line in err.splitlines() if line.strip()]
        assert p.returncode == 1, f"{what}: exit {p.returncode}\n{out}{err}"
        assert len(lines) == 1 and lines[0].startswith(said[what]), f"{what}:\n{err}"
