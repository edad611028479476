"""`anpr-federation crossed`: its line and exit code, the settings it passes on (options over ANPR_
environment over the --config file), and its errors as every script's: one line, exit 2 or 1."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import anpr_engine.io.crossing
from anpr_engine.cli.federation import app
from anpr_engine.config import Settings, use_config_file
from anpr_engine.federation.crossing import Crossing

CLEAN = {"ANPR_CONFIG": None, "ANPR_LOG_LEVEL": None, "ANPR_KAFKA_BOOTSTRAP": None, "COLUMNS": "200"}
NO_BROKER = {"ANPR_KAFKA_BOOTSTRAP": "127.0.0.1:1", "ANPR_FLUSH_TIMEOUT_S": "0.1"}


@pytest.fixture(autouse=True)
def no_config_left() -> Iterator[None]:
    use_config_file(None)
    yield
    use_config_file(None)


def invoke(args: list[str], env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(app, args, env={**CLEAN, **(env or {})})


def lines(text: str) -> list[str]:
    return [x for x in text.splitlines() if x.strip()]


class Fake:
    """Stands in for io.crossing.reads_crossed: what it was asked, and what it answers."""

    def __init__(self, answer: Crossing) -> None:
        self.answer = answer
        self.home: Settings | None = None
        self.abroad: list[Settings] = []

    def __call__(self, home: Settings, abroad: Sequence[Settings]) -> Crossing:
        self.home, self.abroad = home, list(abroad)
        return self.answer


def test_nothing_crossed_exits_0_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = Fake(Crossing(reads=100, hits=4, crossed=frozenset()))
    monkeypatch.setattr(anpr_engine.io.crossing, "reads_crossed", fake)
    (tmp_path / "s.toml").write_text('[topics]\nalerts = "from.file"\nreads = "not.this"\n')
    env = {"ANPR_KAFKA_BOOTSTRAP": "nl:1", "ANPR_TOPICS__READS": "env.reads", "ANPR_FLUSH_TIMEOUT_S": "7"}
    done = invoke(["crossed", "--abroad", "be:1", "--abroad", "jc:1", "--config", str(tmp_path / "s.toml")], env)
    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == ["reads=100 hits=4 non_hits=96 crossed=0"] and not done.stderr
    home = fake.home
    assert home is not None
    assert (home.bootstrap_servers, home.topics.reads, home.topics.alerts) == ("nl:1", "env.reads", "from.file")
    assert [s.bootstrap_servers for s in fake.abroad] == ["be:1", "jc:1"]
    assert {s.flush_timeout_s for s in [home, *fake.abroad]} == {7.0}  # the same settings, another cluster


def test_crossed_reads_exit_1_listing_the_first_ten(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = frozenset(f"r{i:02d}" for i in range(12))
    fake = Fake(Crossing(reads=50, hits=2, crossed=ids, where={"r00": "be:1/some.topic"}))
    monkeypatch.setattr(anpr_engine.io.crossing, "reads_crossed", fake)
    done = invoke(["crossed", "--home", "nl:2", "--abroad", "be:1", "--partner", "be", "--partner", "de",
                   "--reads-topic", "r", "--covert-alerts-topic", "c"])  # fmt: skip
    assert done.exit_code == 1
    assert lines(done.stdout) == ["reads=50 hits=2 non_hits=48 crossed=12"]
    err = lines(done.stderr)
    assert err[0] == "crossed: read r00 on be:1/some.topic"
    assert len(err) == 11 and err[-1] == "crossed: and 2 more"
    assert fake.home is not None and fake.home.bootstrap_servers == "nl:2"
    assert fake.home.federation.partners == ("be", "de")
    assert (fake.home.topics.reads, fake.home.topics.alerts_covert) == ("r", "c")


def test_without_abroad_a_usage_error() -> None:
    done = invoke(["crossed", "--home", "nl:1"])
    assert done.exit_code == 2 and lines(done.stderr) == ["error: give --abroad BOOTSTRAP, once per other cluster"]


@pytest.mark.parametrize(
    ("env", "args", "says"),
    [
        ({"ANPR_FLUSH_TIMEOUT_S": "-1"}, [], "error: config: flush_timeout_s"),
        ({"ANPR_FEDERATION__PARTY": "nl"}, ["--partner", "nl"], "error: config: federation: Value error, party 'nl'"),
    ],
)
def test_bad_settings_a_usage_error(env: dict[str, str | None], args: list[str], says: str) -> None:
    done = invoke(["crossed", "--abroad", "be:1", *args], env)
    assert done.exit_code == 2 and len(lines(done.stderr)) == 1, done.output
    assert lines(done.stderr)[0].startswith(says), done.stderr


def test_no_broker_answering_exits_1_with_one_line() -> None:
    done = invoke(["crossed", "--abroad", "127.0.0.1:1"], NO_BROKER)
    assert done.exit_code == 1, done.output
    (line,) = lines(done.stderr)
    assert line.startswith("error: kafka: no answer from 127.0.0.1:1") and "Traceback" not in done.output
