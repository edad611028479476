"""Command-line options override the environment, which overrides the defaults, for every `run` option."""

import inspect

import pytest

from anpr_engine.cli.engine import run, run_settings
from anpr_engine.config import Settings

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
    "country_policy": ("ANPR_MATCH__COUNTRY", "strict", "strict", "lenient", lambda s: s.match.country),
    "suppress_s": ("ANPR_SUPPRESS_S", "7", 7.0, 3.0, lambda s: s.suppress_s),
    "instance_id": ("ANPR_INSTANCE_ID", "env-1", "env-1", "opt-1", lambda s: s.instance_id),
    "covert_alerts_topic": (
        "ANPR_TOPICS__ALERTS_COVERT", "env.covert", "env.covert", "opt.covert", lambda s: s.topics.alerts_covert,
    ),
    "retro_window_s": ("ANPR_RETRO_WINDOW_S", "60", 60.0, 5.0, lambda s: s.retro_window_s),
    "guarantee": ("ANPR_GUARANTEE", "exactly-once", "exactly-once", "at-least-once", lambda s: s.guarantee),
    "workers": ("ANPR_WORKERS", "3", 3, 2, lambda s: s.workers),
}  # fmt: skip


def test_every_settings_option_of_run_is_covered() -> None:
    not_settings = {"idle_exit_s", "stats_file"}  # how long this run lasts and where it reports: no setting
    assert set(inspect.signature(run).parameters) - not_settings == set(CASES)


@pytest.mark.parametrize("option", sorted(CASES))
def test_option_over_environment_over_default(option: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env, raw, from_env, opt_value, get = CASES[option]
    assert inspect.signature(run).parameters[option].default is None  # an option not given is None
    for case in CASES.values():
        monkeypatch.delenv(case[0], raising=False)
    assert get(run_settings()) == get(Settings()) != from_env  # the default
    monkeypatch.setenv(env, raw)
    assert get(run_settings()) == from_env  # the environment over the default
    assert opt_value != from_env and get(run_settings(**{option: opt_value})) == opt_value  # the option over both
