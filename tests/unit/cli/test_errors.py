"""Every console script ends a failure with one line on stderr (`error: ...`), no traceback, and exit
2 for usage and configuration or 1 for a runtime failure (anpr_engine.cli.errors): with no broker
answering, a bad configuration file, a bad environment value, and a file that cannot be read.

In-process through typer's CliRunner for every script; as real processes for the bugs seen by hand,
since librdkafka's own log lines and typer's traceback box show only there:
- `anpr-watchlist ls` and `add` with no broker ended in a traceback box ending in
  `KafkaException: KafkaError{code=_TRANSPORT,...}`;
- `anpr-alerts --idle-timeout-s 5` with no broker printed librdkafka's FAIL lines and exited 0.
Settings' choices accept any case, as users type them (ANPR_LOG_LEVEL=debug was refused).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from pydantic import BaseModel, ValidationError
from typer.testing import CliRunner, Result

import anpr_engine.cli.engine
from anpr_engine.cli.alerts import app as alerts_app
from anpr_engine.cli.console import app as console_app
from anpr_engine.cli.engine import app as engine_app
from anpr_engine.cli.federation import app as federation_app
from anpr_engine.cli.watchlist import app as watchlist_app
from anpr_engine.config import use_config_file
from anpr_simulators.cli import app as simulate_app

BIN = Path(sys.executable).parent
SCRIPTS: dict[str, typer.Typer] = {
    "anpr-engine": engine_app, "anpr-watchlist": watchlist_app, "anpr-alerts": alerts_app,
    "anpr-console": console_app, "anpr-simulate": simulate_app, "anpr-federation": federation_app,
}  # fmt: skip
# no broker listens on port 1; the tools wait flush_timeout_s for one (the settings allow any time > 0)
NO_BROKER = {"ANPR_KAFKA_BOOTSTRAP": "127.0.0.1:1", "ANPR_FLUSH_TIMEOUT_S": "0.1", "ANPR_CONSOLE_AUTH": "none"}
CLEAN = {"ANPR_CONFIG": None, "ANPR_LOG_LEVEL": None, "ANPR_KAFKA_BOOTSTRAP": None, "COLUMNS": "200"}
ENTRY = ["--plate", "12-AB-34", "--list-name", "x", "--agency", "a", "--agency-country", "NL", "--category", "burglary"]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """A valid watchlist and reads file, one that is not UTF-8, and a Parquet file that is not Parquet."""
    (tmp_path / "wl.csv").write_text("plate;list_name;agency;agency_country;category\n12-AB-34;x;a;NL;burglary\n")
    (tmp_path / "reads.jsonl").write_text("")
    (tmp_path / "latin1.csv").write_bytes(b"plate;list_name\n\xe9\xff;x\n")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    return {
        name.split(".")[0]: str(tmp_path / name) for name in ("wl.csv", "reads.jsonl", "latin1.csv", "junk.parquet")
    }


@pytest.fixture(autouse=True)
def in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No configuration file left in use by a test's --config/ANPR_CONFIG, and `run` does not take
    over the test process's logging (configure_logging replaces the root handlers)."""
    monkeypatch.setattr(anpr_engine.cli.engine, "configure_logging", lambda settings: None)
    use_config_file(None)
    yield
    use_config_file(None)


def invoke(script: str, args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(SCRIPTS[script], args, env={**CLEAN, **env})


def stderr_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_one_line(done: Result, code: int, *words: str) -> str:
    """Exit `code` with exactly one line on stderr, `error: ...` holding `words`; returns it."""
    lines = stderr_lines(done.stderr)
    assert isinstance(done.exception, SystemExit), done.exception  # not an exception escaping the command
    assert done.exit_code == code, done.stdout + done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    return lines[0]


# script, arguments: every command that talks to the broker ({name}: a file of the `files` fixture)
BROKER_COMMANDS = [
    ("anpr-engine", ["run", "--idle-exit-s", "1"]),
    ("anpr-engine", ["topics"]),
    ("anpr-engine", ["topics", "--check"]),
    ("anpr-watchlist", ["ls"]),
    ("anpr-watchlist", ["add", *ENTRY]),
    ("anpr-watchlist", ["publish", "{wl}"]),
    ("anpr-watchlist", ["replace", "{wl}", "--list-name", "x"]),
    ("anpr-watchlist", ["set-list", "x", "--agency", "a", "--agency-country", "NL"]),
    ("anpr-watchlist", ["remove", "--plate", "12-AB-34"]),
    ("anpr-alerts", ["--idle-timeout-s", "5"]),
    ("anpr-console", []),
    ("anpr-console", ["report"]),
    ("anpr-simulate", ["run", "--count", "1"]),
    ("anpr-simulate", ["replay", "{reads}"]),
    ("anpr-federation", ["crossed", "--abroad", "127.0.0.1:1"]),
]


@pytest.mark.parametrize(("script", "args"), BROKER_COMMANDS, ids=lambda x: x if isinstance(x, str) else " ".join(x))
def test_no_broker_answering_exits_1_with_one_line(script: str, args: list[str], files: dict[str, str]) -> None:
    done = invoke(script, [a.format(**files) for a in args], NO_BROKER)
    assert_one_line(done, 1, "error: kafka: no answer from 127.0.0.1:1 within 0.1 s", "_TRANSPORT")


# script, arguments of a command that reads the settings
SETTINGS_COMMANDS = [
    ("anpr-engine", ["config"]), ("anpr-engine", ["run"]), ("anpr-watchlist", ["ls"]), ("anpr-alerts", []),
    ("anpr-console", []), ("anpr-console", ["report"]), ("anpr-simulate", ["run", "--count", "1"]),
    ("anpr-federation", ["crossed", "--abroad", "127.0.0.1:1"]),
]  # fmt: skip


@pytest.mark.parametrize(("script", "args"), SETTINGS_COMMANDS, ids=lambda x: x if isinstance(x, str) else " ".join(x))
def test_a_bad_configuration_exits_2_with_one_line(script: str, args: list[str], tmp_path: Path) -> None:
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("x = [\n")
    done = invoke(script, args, {**NO_BROKER, "ANPR_CONFIG": str(bad_toml)})
    assert_one_line(done, 2, f"error: config: configuration file {bad_toml} is not valid TOML")
    done = invoke(script, args, {**NO_BROKER, "ANPR_CONFIG": str(tmp_path / "missing.toml")})
    assert_one_line(done, 2, "not found")
    done = invoke(script, args, {**NO_BROKER, "ANPR_BATCH_MAX_READS": "0"})
    assert_one_line(done, 2, "error: config: batch_max_reads: Input should be greater than or equal to 1")
    done = invoke(script, args, {**NO_BROKER, "ANPR_LOG_LEVEL": "loud"})
    assert_one_line(done, 2, "error: config: log_level: Input should be 'DEBUG', 'INFO'", "(given: 'loud')")


# script, arguments, the file they cannot use ({name}: a file of the `files` fixture), exit code
UNUSABLE_FILES = [
    ("anpr-watchlist", ["check", "{latin1}"], "{latin1}: not UTF-8 text"),
    ("anpr-watchlist", ["check-archive", "{wl}", "--reads", "{junk}"], "{junk}"),
    ("anpr-engine", ["match", "--reads", "{junk}", "--watchlist", "{wl}", "--out", "{reads}"],
     "{junk}"),
    ("anpr-engine", ["match", "--reads", "{reads}", "--watchlist", "{latin1}", "--out", "{reads}"],
     "{latin1}: not UTF-8 text"),
    ("anpr-simulate", ["replay", "{junk}"], "{junk}"),
    ("anpr-simulate", ["run", "--count", "1", "--watchlist", "{latin1}"], "{latin1}: not UTF-8 text"),
]  # fmt: skip


@pytest.mark.parametrize(("script", "args", "said"), UNUSABLE_FILES, ids=lambda x: x if isinstance(x, str) else "")
def test_a_file_that_cannot_be_read_exits_1_with_one_line(
    script: str, args: list[str], said: str, files: dict[str, str]
) -> None:
    done = invoke(script, [a.format(**files) for a in args], NO_BROKER)
    assert_one_line(done, 1, said.format(**files))


def test_an_os_error_reading_a_file_exits_1_naming_the_file(
    files: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreadable file (the tests may run as root, for whom permissions do not stop a read)."""

    def refused(path: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(anpr_engine.cli.engine, "load_entry_rows", refused)
    args = ["match", "--reads", files["reads"], "--watchlist", files["wl"], "--out", files["reads"]]
    assert_one_line(invoke("anpr-engine", args, {}), 1, f"error: {files['wl']}: Permission denied")


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="reading /proc/self/mem fails with EIO on Linux")
def test_a_configuration_file_that_cannot_be_read_exits_2(tmp_path: Path) -> None:
    """An OSError reading the file (root reads any file whatever its mode: /proc/self/mem fails)."""
    unreadable = tmp_path / "anpr.toml"
    unreadable.symlink_to("/proc/self/mem")
    for script, args in SETTINGS_COMMANDS:
        done = invoke(script, args, {**NO_BROKER, "ANPR_CONFIG": str(unreadable)})
        assert_one_line(done, 2, f"error: config: configuration file {unreadable} cannot be read")


def test_usage_problems_exit_2_and_runtime_refusals_1() -> None:
    assert_one_line(invoke("anpr-watchlist", ["remove"], NO_BROKER), 2, "error: give --entry-id or --plate")
    assert_one_line(invoke("anpr-simulate", ["run"], NO_BROKER), 2, "error: give --duration-s or --count")
    done = invoke("anpr-console", [], {"ANPR_CONSOLE_AUTH": "password"})
    assert_one_line(done, 2, "error: console: no users configured")
    done = invoke("anpr-engine", ["run", "--batch-max-reads", "0"], NO_BROKER)  # typer's own: its usage box
    assert done.exit_code == 2 and "Traceback" not in done.stderr


def test_debug_level_shows_the_traceback_before_the_line() -> None:
    done = invoke("anpr-watchlist", ["ls"], {**NO_BROKER, "ANPR_LOG_LEVEL": "debug"})
    assert done.exit_code == 1
    lines = stderr_lines(done.stderr)
    assert "Traceback" in done.stderr and "KafkaException" in done.stderr  # the original, as the cause
    assert lines[-1].startswith("error: kafka: no answer from 127.0.0.1:1")


def test_settings_choices_accept_any_case(tmp_path: Path) -> None:
    """ANPR_LOG_LEVEL=debug was refused while DEBUG was taken: every Literal choice of the settings
    (and of the match policy, and of the options) is taken in any case, as its own spelling."""
    conf = tmp_path / "anpr.toml"
    conf.write_text('[[console.users]]\nname = "ann"\nrole = "Operator"\npassword_hash = "$argon2id$x"\n')
    env: dict[str, str | None] = {
        "ANPR_CONFIG": str(conf), "ANPR_LOG_LEVEL": "debug", "ANPR_LOG_FORMAT": "JSON",
        "ANPR_GUARANTEE": "Exactly-Once", "ANPR_CONSOLE_AUTH": "NONE", "ANPR_MATCH__MODE": "OCR_Equivalent",
        "ANPR_MATCH__COUNTRY": "STRICT", "ANPR_MATCH__AMBIGUOUS": "Look_Up",
    }  # fmt: skip
    done = invoke("anpr-engine", ["config", "--show"], env)
    assert done.exit_code == 0, done.stderr
    canonical = [
        'log_level = "DEBUG"', 'log_format = "json"', 'guarantee = "exactly-once"', 'console_auth = "none"',
        'mode = "ocr_equivalent"', 'country = "strict"', 'ambiguous = "look_up"', 'role = "operator"',
    ]  # fmt: skip
    assert [said for said in canonical if said not in done.stdout] == [], done.stdout
    done = invoke("anpr-engine", ["run", "--guarantee", "EXACTLY-ONCE", "--country-policy", "Strict"], NO_BROKER)
    assert_one_line(done, 1, "error: kafka:")  # the options were taken: it went on to the broker


def _run(*cmd: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    env.update(NO_BROKER, COLUMNS="200")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_the_console_scripts_without_a_broker_print_one_line_and_exit_1(files: dict[str, str]) -> None:
    """As processes (run side by side): no traceback box, no librdkafka FAIL line, exit 1, not 0."""
    procs = {
        "watchlist ls": _run(str(BIN / "anpr-watchlist"), "ls"),
        "watchlist add": _run(str(BIN / "anpr-watchlist"), "add", *ENTRY),
        "alerts": _run(str(BIN / "anpr-alerts"), "--idle-timeout-s", "5"),
        "engine run": _run(str(BIN / "anpr-engine"), "run", "--idle-exit-s", "1"),
        "console": _run(str(BIN / "anpr-console")),
        "simulate run": _run(str(BIN / "anpr-simulate"), "run", "--count", "1"),
    }
    for what, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        lines = stderr_lines(err)
        assert proc.returncode == 1, f"{what}: exit {proc.returncode}\n{err}"
        assert len(lines) == 1 and lines[0].startswith("error: kafka: no answer from 127.0.0.1:1"), f"{what}:\n{err}"
        assert "FAIL" not in err and "Traceback" not in err and "KafkaException" not in err, f"{what}:\n{err}"


def test_each_error_of_the_tree_is_one_line_and_its_exit_code() -> None:
    """cli.errors maps the tree (anpr_engine.errors) to exit codes; io.kafka_errors maps librdkafka's
    errors into the tree, keeping their name and text."""
    from confluent_kafka import KafkaError, KafkaException

    from anpr_engine import errors
    from anpr_engine.cli.errors import App
    from anpr_engine.io.kafka_errors import broker_error

    class Port(BaseModel):
        port: int

    not_int = "port: Input should be a valid integer, unable to parse string as an integer (given: 'x')"
    kinds: dict[str, tuple[BaseException, int, str]] = {  # raised, exit code, the line
        "config": (errors.ConfigError("config: nope"), 2, "config: nope"),
        "settings": (_validation_error(Port), 2, f"config: {not_int}"),
        "input": (errors.BadInput("bad row"), 1, "bad row"),
        "unreachable": (errors.BrokerUnreachable("kafka: gone"), 1, "kafka: gone"),
        "refused": (errors.AccessRefused("kafka: not yours"), 1, "kafka: not yours"),
        "fatal": (errors.FatalDeliveryError("kafka: fenced"), 1, "kafka: fenced"),
        "aborted": (errors.TransactionAborted("kafka: aborted"), 1, "kafka: aborted"),
        "stop": (errors.StopRequested("stopped"), 1, "stopped"),
        "bug": (errors.InvariantBroken("hash table insert failed"), 1, "hash table insert failed"),
        "os": (FileNotFoundError(2, "No such file or directory", "x.csv"), 1, "x.csv: No such file or directory"),
    }
    app = App()

    @app.command()
    def fails(kind: str) -> None:
        raise kinds[kind][0]

    @app.command()
    def other() -> None:
        pass

    for kind, (_, code, said) in kinds.items():
        assert assert_one_line(CliRunner().invoke(app, ["fails", kind], env=CLEAN), code) == f"error: {said}"
    for code, kind in [(KafkaError._TRANSPORT, errors.BrokerUnreachable), (KafkaError._ALL_BROKERS_DOWN,
                       errors.BrokerUnreachable), (KafkaError.TOPIC_AUTHORIZATION_FAILED, errors.AccessRefused),
                       (KafkaError.SASL_AUTHENTICATION_FAILED, errors.AccessRefused), (KafkaError._INVALID_ARG,
                       errors.ConfigError), (KafkaError.TOPIC_ALREADY_EXISTS, errors.BrokerError)]:  # fmt: skip
        got = broker_error(KafkaException(KafkaError(code, "the text")), "doing it")
        assert type(got) is kind and str(got) == f"kafka: doing it: {KafkaError(code).name()}: the text"


def _validation_error(model: type[BaseModel]) -> BaseException:
    try:
        model.model_validate({"port": "x"})
    except ValidationError as e:
        return e
    raise AssertionError("validated")
