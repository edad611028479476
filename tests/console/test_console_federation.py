"""The console in a federation on one real broker: the topics MirrorMaker would copy into a party's
or the joint centre's cluster are made here under their copied names (`be.<hits topic of nl>`,
`nl.<alerts topic>`), unique to each run, and a real `anpr-console` is configured as party nl or as
centre jc."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from anpr_engine.config import replica
from anpr_engine.io.admin import ensure_topics
from anpr_engine.io.topic_readers import read_topic_to_end
from anpr_engine.models import AlertFeedback, CovertView
from tests.helpers.console import (
    Console,
    create_replica,
    existing_topics,
    federated_settings,
    make_alert,
    start_console,
)  # fmt: skip
from tests.helpers.kafka import BIN, produce, terminate, topic_values, wait

pytestmark = pytest.mark.integration


def cards_of(console: Console, user: str) -> dict[str, dict[str, object]]:
    r = console.client(user).get("/api/cards")
    assert r.status_code == 200, r.text
    return {c["alert_id"]: c for c in r.json()["cards"]}


def test_a_partys_console_shows_the_hits_made_abroad_on_its_lists_and_follows_a_copied_topic_once_it_appears(
    tmp_path: Path,
) -> None:
    s = federated_settings(uuid.uuid4().hex[:10], party="nl", partners=["be"])
    t = s.topics
    abroad_topic, covert_topic = replica("be", t.hits("nl")), replica("be", t.hits("nl", covert=True))
    create_replica(s, abroad_topic)  # the covert one not yet: the mirror has not created it
    home = make_alert("H0ME001", camera_country="NL", matched_in="nl", listed_by="nl")
    abroad = make_alert("ABR0AD1", camera_country="BE", matched_in="be", listed_by="nl")
    produce(s, abroad_topic, [(None, abroad.model_dump_json().encode())])
    console = start_console(tmp_path, s)
    try:
        assert covert_topic not in existing_topics(s)  # the console created nothing copied
        assert covert_topic in console.client(None).get("/readyz").text
        console.alerts((home, False))
        wait(lambda: home.alert_id in cards_of(console, "olga"), "no card of the hit at home")
        cards = cards_of(console, "olga")
        assert (cards[abroad.alert_id]["abroad"], cards[abroad.alert_id]["party"]) == (True, "be")
        assert (cards[home.alert_id]["abroad"], cards[home.alert_id]["party"]) == (False, "nl")
        r = console.client("olga").post("/api/feedback", json={"alert_id": abroad.alert_id, "outcome": "confirmed"})
        assert r.status_code == 202, r.text
        records = list(read_topic_to_end(s, t.feedback))  # the verdict on a hit abroad: on nl's own topic
        assert [(k, AlertFeedback.model_validate_json(v or b"").by) for k, v in records] == [
            (abroad.alert_id.encode(), "olga")]  # fmt: skip
        shared = console.client("anna").get("/api/shared").json()
        assert {r["key"]: r["hits"] for r in shared["per_party"]} == {"nl": 1, "be": 1}

        create_replica(s, covert_topic)  # the mirror gets to it: followed without a restart
        covert = make_alert("C0VABR1", list_name="nl-covert", camera_country="BE", matched_in="be", listed_by="nl")
        produce(s, covert_topic, [(None, covert.model_dump_json().encode())])
        wait(lambda: covert.alert_id in cards_of(console, "piet"), "the covert hit abroad never came", 60)
        assert cards_of(console, "piet")[covert.alert_id]["abroad"] is True
        assert covert.alert_id not in cards_of(console, "olga")
        audits = [CovertView.model_validate_json(v) for v in topic_values(s, t.audit)]
        assert (covert.alert_id, "piet") in {(v.alert_id, v.user) for v in audits}
        assert console.client("anna").get("/api/shared").json()["hits"] == 2  # covert ones left out
        assert "not on the cluster yet" not in console.client(None).get("/readyz").text
        log = next(tmp_path.glob("console-*.log")).read_text()
        assert f"{covert_topic} is not on the cluster yet" in log and f"{covert_topic} has appeared" in log
    finally:
        for c in console.opened:
            c.close()
        terminate(console.proc)  # type: ignore[arg-type]


def test_the_centres_console_shows_both_parties_alerts_and_verdicts_nothing_covert_and_records_nothing(
    tmp_path: Path,
) -> None:
    run = uuid.uuid4().hex[:10]
    s = federated_settings(run, party="jc", role="centre", partners=["nl", "be"])
    t = s.topics
    for party in ("nl", "be"):
        for topic in (t.alerts, t.feedback, t.alerts_covert):  # a covert topic is never copied: a decoy here
            create_replica(s, replica(party, topic))
    nl = make_alert("NL00001", camera_country="NL", matched_in="nl", listed_by="nl", site="Thorn")
    be = make_alert("BE00001", camera_country="BE", matched_in="be", listed_by="nl", site="Lanaken")
    hidden = make_alert("C0VERT9", list_name="nl-covert", matched_in="nl")
    produce(s, replica("nl", t.alerts), [(None, nl.model_dump_json().encode())])
    produce(s, replica("be", t.alerts), [(None, be.model_dump_json().encode())])
    produce(s, replica("nl", t.alerts_covert), [(None, hidden.model_dump_json().encode())])
    verdict = AlertFeedback(alert_id=be.alert_id, outcome="confirmed", by="bert", by_role="operator", at_ms=1,
                            list_name=be.entry.list_name, match_kind="exact")  # fmt: skip
    produce(s, replica("be", t.feedback), [(be.alert_id.encode(), verdict.model_dump_json().encode())])
    own = federated_settings(run)  # the centre's own topics of these names hold a decoy too
    ensure_topics(own, only=(t.alerts_covert,))
    produce(own, t.alerts_covert, [(None, hidden.model_dump_json().encode())])
    console = start_console(tmp_path, s)
    try:
        wait(lambda: {nl.alert_id, be.alert_id} <= set(cards_of(console, "piet")), "not both parties' alerts")
        cards = cards_of(console, "piet")  # privileged: would see covert ones, were there any
        assert set(cards) == {nl.alert_id, be.alert_id}
        assert (cards[nl.alert_id]["party"], cards[be.alert_id]["party"]) == ("nl", "be")
        assert cards[be.alert_id]["verdict"]["by"] == "bert"  # type: ignore[index]
        me = console.client("olga").get("/api/me").json()
        assert me["read_only"] is True and me["federation"] == {
            "party": "jc",
            "role": "centre",
            "partners": ["nl", "be"],
        }
        r = console.client("olga").post("/api/feedback", json={"alert_id": nl.alert_id, "outcome": "confirmed"})
        assert r.status_code == 403 and "read-only" in r.json()["error"]
        anna = console.client("anna")
        shared = anna.get("/api/shared").json()
        assert {r["key"]: r["hits"] for r in shared["per_party"]} == {"nl": 1, "be": 1}
        assert [(r["party"], r["confirmed"]) for r in shared["verdicts"]] == [("be", 1)]
        assert anna.get("/api/shared", params={"party": "be"}).json()["hits"] == 1
        csv_rows = anna.get("/api/shared.csv").text.splitlines()
        assert csv_rows[0] == "dimension,party,key,hits,cross_border"
        assert "site,nl,Thorn,1,0" in csv_rows and "site,be,Lanaken,1,1" in csv_rows
        hours = anna.get("/api/shared-hours.csv", params={"party": "be"}).text.splitlines()
        assert hours[0] == "hour,party,crossing,list,hits,cross_border"
        assert [row.split(",")[1:] for row in hours[1:]] == [["be", "Lanaken", "nl-stolen", "1", "1"]]
        assert t.feedback not in existing_topics(s) and t.audit not in existing_topics(s)  # it created nothing
        config = next(tmp_path.glob("console-*.toml"))
        out = subprocess.run([str(BIN / "anpr-console"), "report", "--json", "--config", str(config)],
                             capture_output=True, text=True, check=True)  # fmt: skip
        assert [(r["party"], r["list_name"], r["confirmed"]) for r in json.loads(out.stdout)] == [
            ("be", "nl-stolen", 1)
        ]
        assert t.feedback not in existing_topics(s)
    finally:
        for c in console.opened:
            c.close()
        terminate(console.proc)  # type: ignore[arg-type]
