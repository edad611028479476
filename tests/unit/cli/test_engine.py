"""`anpr-engine`: command-line options override the environment, which overrides the configuration
file, which overrides the defaults, for every `run` option; a bad setting anywhere is one clear line;
`config --show` masks secrets; `match` matches files offline as the reference does."""

import inspect
from pathlib import Path

import pytest
from typer.testing import CliRunner

from anpr_engine.cli.engine import app, run, run_settings
from anpr_engine.codec.reads import reads_to_table
from anpr_engine.config import Settings, use_config_file
from anpr_engine.files.reads import write_reads_file
from anpr_engine.files.watchlists import write_entries
from anpr_engine.match.reads import match_reads
from anpr_engine.match.watchlist import Watchlist
from anpr_engine.models import Alert
from anpr_simulators.traffic import Traffic, make_watchlists
from tests.helpers.builders import entry_record
from tests.helpers.reference import ref_alerts

# run option -> (environment variable, its value there, what that value becomes, a value as the option, where it lands)
CASES = {
    "bootstrap": ("ANPR_KAFKA_BOOTSTRAP", "env-host:1", "env-host:1", "opt-host:1", lambda s: s.bootstrap_servers),
    "reads_topic": ("ANPR_TOPICS__READS", "env.reads", "env.reads", "opt.reads", lambda s: s.topics.reads),
    "alerts_topic": ("ANPR_TOPICS__ALERTS", "env.alerts", "env.alerts", "opt.alerts", lambda s: s.topics.alerts),
    "watchlist_topic": ("ANPR_TOPICS__WATCHLIST", "env.wl", "env.wl", "opt.wl", lambda s: s.topics.watchlist),
    "dlq_topic": ("ANPR_TOPICS__DLQ", "env.dlq", "env.dlq", "opt.dlq", lambda s: s.topics.dlq),
    "group_id": ("ANPR_GROUP_ID", "env-group", "env-group", "opt-group", lambda s: s.group_id),
    "max_equivalences": ("ANPR_MATCH__MAX_EQUIVALENCES", "1", 1, 0, lambda s: s.match.max_equivalences),
    "max_differences": ("ANPR_MATCH__MAX_DIFFERENCES", "1", 1, 2, lambda s: s.match.max_differences),
    "batch_max_reads": ("ANPR_BATCH_MAX_READS", "777", 777, 555, lambda s: s.batch_max_reads),
    "country_policy": ("ANPR_MATCH__COUNTRY", "lenient", "lenient", "strict", lambda s: s.match.country),
    "suppress_s": ("ANPR_SUPPRESS_S", "7", 7.0, 3.0, lambda s: s.suppress_s),
    "instance_id": ("ANPR_INSTANCE_ID", "env-1", "env-1", "opt-1", lambda s: s.instance_id),
    "covert_alerts_topic": (
        "ANPR_TOPICS__ALERTS_COVERT", "env.covert", "env.covert", "opt.covert", lambda s: s.topics.alerts_covert,
    ),
    "retro_window_s": ("ANPR_RETRO_WINDOW_S", "60", 60.0, 5.0, lambda s: s.retro_window_s),
    "guarantee": ("ANPR_GUARANTEE", "at-least-once", "at-least-once", "exactly-once", lambda s: s.guarantee),
    "workers": ("ANPR_WORKERS", "3", 3, 2, lambda s: s.workers),
    "metrics_port": ("ANPR_METRICS_PORT", "9101", 9101, 9102, lambda s: s.metrics_port),
}  # fmt: skip


# run option -> the same setting in the TOML file (table, key, value), another value than the others
IN_FILE = {
    "bootstrap": (None, "bootstrap_servers", "file-host:1"), "reads_topic": ("topics", "reads", "file.reads"),
    "alerts_topic": ("topics", "alerts", "file.alerts"), "watchlist_topic": ("topics", "watchlist", "file.wl"),
    "dlq_topic": ("topics", "dlq", "file.dlq"), "group_id": (None, "group_id", "file-group"),
    "max_equivalences": ("match", "max_equivalences", 0), "max_differences": ("match", "max_differences", 2),
    "batch_max_reads": (None, "batch_max_reads", 999), "country_policy": ("match", "country", "strict"),
    "suppress_s": (None, "suppress_s", 11.0), "instance_id": (None, "instance_id", "file-1"),
    "covert_alerts_topic": ("topics", "alerts_covert", "file.covert"), "retro_window_s": (None, "retro_window_s", 9.0),
    "guarantee": (None, "guarantee", "exactly-once"), "workers": (None, "workers", 4),
    "metrics_port": (None, "metrics_port", 9100),
}  # fmt: skip


def test_every_settings_option_of_run_is_covered() -> None:
    not_settings = {"idle_exit_s", "stats_file", "config"}  # how long this run lasts, where it reports, the file
    assert set(inspect.signature(run).parameters) - not_settings == set(CASES) == set(IN_FILE)


def _toml(table: str | None, key: str, value: object) -> str:
    text = f'"{value}"' if isinstance(value, str) else str(value)
    return (f"[{table}]\n" if table else "") + f"{key} = {text}\n"


@pytest.mark.parametrize("option", sorted(CASES))
def test_option_over_environment_over_file_over_default(
    option: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_file: object
) -> None:
    env, raw, from_env, opt_value, get = CASES[option]
    assert inspect.signature(run).parameters[option].default is None  # an option not given is None
    for case in CASES.values():
        monkeypatch.delenv(case[0], raising=False)
    monkeypatch.delenv("ANPR_CONFIG", raising=False)
    assert get(run_settings()) == get(Settings())  # the default
    table, key, in_file = IN_FILE[option]
    (tmp_path / "anpr.toml").write_text(_toml(table, key, in_file))
    use_config_file(tmp_path / "anpr.toml")
    assert get(run_settings()) == in_file != get(Settings.model_construct())  # the file over the default
    monkeypatch.setenv(env, raw)
    assert from_env != in_file and get(run_settings()) == from_env  # the environment over the file
    assert opt_value != from_env and get(run_settings(**{option: opt_value})) == opt_value  # the option over all


def test_bad_settings_in_the_file_and_the_environment_exit_2_with_one_line_each(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_file: object
) -> None:
    f = tmp_path / "bad.toml"
    f.write_text('suppress_s = "soon"\nbatch_max_reads = 0\ntypo_setting = 1\n[kafka_extra]\n"sasl.password" = 5\n')
    monkeypatch.setenv("ANPR_WORKERS", "many")
    done = CliRunner().invoke(app, ["config", "--config", str(f)])
    lines = done.stderr.splitlines()
    assert done.exit_code == 2
    assert sorted(line.split(":")[2].strip() for line in lines) == [
        "batch_max_reads", "suppress_s", "typo_setting", "workers"]  # fmt: skip
    assert all(line.startswith("error: config: ") for line in lines)
    for text, problem in [("x = [", "not valid TOML"), (None, "not found")]:
        g = tmp_path / "other.toml"
        g.unlink(missing_ok=True)
        if text is not None:
            g.write_text(text)
        done = CliRunner().invoke(app, ["config", "--config", str(g)])
        assert done.exit_code == 2 and problem in done.stderr and len(done.stderr.splitlines()) == 1


def test_config_show_prints_the_effective_settings_with_secrets_masked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_file: object
) -> None:
    f = tmp_path / "anpr.toml"
    f.write_text('group_id = "g-file"\n[kafka_extra]\n"sasl.password" = "hunter2-file"\n"sasl.username" = "eng"\n'
                 '[kafka_producer]\n"ssl.key.password" = "pw-file"\n"linger.ms" = 7\n')  # fmt: skip
    monkeypatch.setenv("ANPR_KAFKA_CONSUMER", '{"sasl.oauthbearer.client.secret": "oauth-env"}')
    monkeypatch.setenv("ANPR_GROUP_ID", "g-env")
    monkeypatch.setenv("ANPR_KAFKA_EXTRA", '{"security.protocol": "SASL_SSL"}')  # merged with the file's table
    done = CliRunner().invoke(app, ["config", "--show", "--config", str(f)])
    assert done.exit_code == 0, done.output
    shown = done.stdout
    assert '"security.protocol" = "SASL_SSL"' in shown and '"sasl.username" = "eng"' in shown
    assert 'group_id = "g-env"' in shown and '"sasl.username" = "eng"' in shown and '"linger.ms" = 7' in shown
    assert not any(s in shown for s in ("hunter2-file", "pw-file", "oauth-env"))
    assert shown.count('"**********"') == 3
    s = Settings()
    assert s.kafka_conf("producer")["ssl.key.password"] == "pw-file" and "pw-file" not in repr(s)
    assert "hunter2-file" not in repr(s) + str(s) + s.model_dump_json()
    assert s.kafka_conf("consumer")["sasl.password"] == "hunter2-file"
    assert "linger.ms" not in s.kafka_conf("consumer")


def test_offline_match_cli(tmp_path: Path) -> None:
    entries = make_watchlists(30, 4)
    write_entries(entries, tmp_path / "wl.csv")
    sims = Traffic(entries, seed=4, listed_share=0.5).take(200)
    write_reads_file(reads_to_table([s.read for s in sims]), tmp_path / "reads.parquet")
    out = tmp_path / "alerts.jsonl"
    args = ["match", "--reads", str(tmp_path / "reads.parquet"), "--watchlist", str(tmp_path / "wl.csv")]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--suppress-s", "0"])
    assert result.exit_code == 0, result.output
    alerts = [Alert.model_validate_json(line) for line in out.read_text().splitlines()]
    found = {(a.read.read_id, a.entry.entry_id) for a in alerts}
    assert found == ref_alerts([s.read for s in sims], entries)
    assert len(found) > 50 and any(a.match.equivalences for a in alerts)


def test_offline_match_of_a_partners_entries_gives_the_engines_alerts(tmp_path: Path) -> None:
    """`match --party be --partner nl=FILE` holds nl's entries as be's engine does: the same alerts,
    ids included, as the engine's table with them applied from nl's export."""
    entries = make_watchlists(30, 5)
    write_entries(entries[:20], tmp_path / "own.csv")
    write_entries(entries[20:], tmp_path / "nl.csv")
    sims = Traffic(entries, seed=5, listed_share=0.5).take(200)
    reads = reads_to_table([s.read for s in sims])
    write_reads_file(reads, tmp_path / "reads.parquet")
    out = tmp_path / "alerts.jsonl"
    args = [
        "match", "--reads", str(tmp_path / "reads.parquet"), "--watchlist", str(tmp_path / "own.csv"),
        "--party", "BE", "--partner", f"nl={tmp_path / 'nl.csv'}", "--out", str(out), "--suppress-s", "0",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    alerts = [Alert.model_validate_json(line) for line in out.read_text().splitlines()]
    table = Watchlist(party="be")
    table.apply([entry_record(e) for e in entries[:20]])
    table.apply([entry_record(e) for e in entries[20:]], "nl")
    want = match_reads(reads, table, 0)
    assert sorted(a.alert_id for a in alerts) == sorted(a.alert_id for a in want)
    assert {a.listed_by for a in alerts} == {"be", "nl"} and {a.matched_in for a in alerts} == {"be"}


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--partner", "nl=wl.csv"], "--partner needs --party"),
        (["--party", "be", "--partner", "nl"], "give NAME=FILE"),
        (["--party", "be", "--partner", "be=wl.csv"], "among its own partners"),
        (["--party", "b e"], "--party/--partner"),
    ],
)
def test_offline_match_refuses_a_bad_federation_in_one_line(tmp_path: Path, extra: list[str], says: str) -> None:
    write_entries(make_watchlists(2, 1), tmp_path / "wl.csv")
    write_reads_file(reads_to_table([]), tmp_path / "reads.parquet")
    extra = [x.replace("wl.csv", str(tmp_path / "wl.csv")) for x in extra]
    args = ["match", "--reads", str(tmp_path / "reads.parquet"), "--watchlist", str(tmp_path / "wl.csv"),
            "--out", str(tmp_path / "out.jsonl"), *extra]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and says in result.output, result.output
