"""Release on the real broker: `anpr-watchlist release`, `withhold` and `export` write to each
partner's export topic what is released to it, and only that; withheld and removed entries leave
as tombstones; a second export with nothing changed writes nothing."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from anpr_engine.config import Settings
from anpr_engine.io.topic_readers import read_topic_to_end
from tests.helpers.kafka import BIN

pytestmark = pytest.mark.integration


def test_release_withhold_and_export_write_what_each_partner_may_see(settings: Settings) -> None:
    prefix = settings.topics.watchlist.removesuffix("watchlist") + "export."
    env = {**os.environ, "COLUMNS": "200", "ANPR_FEDERATION__PARTNERS": '["be", "jc"]',
           "ANPR_TOPICS__EXPORT_PREFIX": prefix, "ANPR_KAFKA_BOOTSTRAP": settings.bootstrap_servers}  # fmt: skip

    def wl(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(BIN / "anpr-watchlist"), *args, "--watchlist-topic", settings.topics.watchlist]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, env=env)

    nl = ["--agency", "Politie Limburg", "--agency-country", "NL"]
    assert wl("set-list", "stolen", *nl, "--category", "stolen_vehicle").returncode == 0
    assert wl("set-list", "observe", *nl, "--category", "drugs", "--covert").returncode == 0
    for plate in ("12-BD-34", "56-XY-78", "90-ZZ-12"):
        assert wl("add", "--plate", plate, "--list-name", "stolen").returncode == 0
    assert wl("add", "--plate", "34-GH-56", "--list-name", "observe").returncode == 0

    done = wl("release", "--list-name", "observe", "--to", "be")
    assert done.returncode == 1 and "covert" in done.stderr and "Traceback" not in done.stderr
    done = wl("release", "--list-name", "stolen", "--to", "de")
    assert done.returncode == 2 and "not a partner: de" in done.stderr
    assert wl("release", "--list-name", "stolen", "--to", "be").returncode == 0
    assert wl("withhold", "--plate", "56 xy 78", "--from", "be").returncode == 0
    assert wl("release", "--plate", "90-ZZ-12", "--to", "jc").returncode == 0

    done = wl("export")
    assert done.returncode == 0, done.stderr
    be, jc = _latest(settings, prefix + "be"), _latest(settings, prefix + "jc")
    assert set(be) == {"list|stolen", "NL-stolen-12BD34-ANY", "NL-stolen-90ZZ12-ANY"}
    assert set(jc) == {"list|stolen", "NL-stolen-90ZZ12-ANY"}  # the list record goes with its entry
    assert json.loads(be["list|stolen"])["release_to"] == ["be"]
    assert wl("export").stdout.strip() == "watchlist: export records written: be=0, jc=0"  # nothing changed

    assert wl("remove", "--plate", "12-BD-34").returncode == 0
    assert wl("withhold", "--list-name", "stolen").returncode == 0
    assert wl("export").returncode == 0
    assert set(_latest(settings, prefix + "be")) == {"list|stolen", "NL-stolen-90ZZ12-ANY"}  # 90-ZZ-12: its own
    tombstoned = [k for k, v in read_topic_to_end(settings, prefix + "be") if v is None]
    assert b"NL-stolen-12BD34-ANY" in tombstoned

    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})  # kept alive until the answer comes
    configs = admin.describe_configs([ConfigResource(ResourceType.TOPIC, prefix + "be")])
    (conf,) = [f.result(30) for f in configs.values()]
    assert conf["cleanup.policy"].value == "compact"
    assert conf["delete.retention.ms"].value == str(7 * 86_400_000)


def _latest(s: Settings, topic: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for key, value in read_topic_to_end(s, topic):
        assert key is not None
        if value is None:
            out.pop(key.decode(), None)
        else:
            out[key.decode()] = value
    return out
