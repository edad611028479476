"""The console's HTTP API, served by a real `anpr-console` on the real broker."""

from __future__ import annotations

import json
import subprocess

import pytest

from anpr_engine.console.state import ConsoleState
from anpr_engine.io.topic_readers import read_topic_to_end
from anpr_engine.models import Alert, AlertFeedback, CovertView
from tests.helpers.console import AGENCY_BE, AGENCY_NL, UNACKED_LIMIT, Console, make_alert
from tests.helpers.kafka import BIN, produce, topic_values, wait

pytestmark = pytest.mark.integration


def cards_of(console: Console, user: str) -> dict[str, dict[str, object]]:
    r = console.client(user).get("/api/cards")
    assert r.status_code == 200, r.text
    return {c["alert_id"]: c for c in r.json()["cards"]}


def test_login_is_asked_for_and_a_wrong_password_or_name_is_refused(console: Console) -> None:
    anon = console.client(None)
    assert anon.get("/api/cards").status_code == 401
    assert anon.get("/", follow_redirects=False).headers["location"] == "/login"
    assert anon.post("/api/login", json={"name": "olga", "password": "wrong"}).status_code == 401
    assert anon.post("/api/login", json={"name": "nobody", "password": "wrong"}).status_code == 401
    too_long = json.dumps({"name": "olga", "password": "x" * 100_000}).encode()
    for hostile in (b"[]", b"null", b'{"name": 1, "password": 2}', b"\xff\xfe", b'{"name": "olga"}', too_long):
        assert anon.post("/api/login", content=hostile).status_code == 400
    me = console.client("olga").get("/api/me").json()
    assert me == {"name": "olga", "role": "operator", "agency": AGENCY_NL, "no_login": False,
                  "sees_plates": True, "sees_covert": False, "federation": None, "read_only": False}  # fmt: skip
    c = console.client("olga")
    c.post("/api/logout")
    assert c.get("/api/cards").status_code == 401


def test_repeats_of_an_entry_on_one_day_are_one_card_and_a_repeated_alert_id_counts_once(console: Console) -> None:
    first = make_alert("XX805R", entry_id="E-rep", site="A2 Eijsden")
    second = make_alert("XX805R", entry_id="E-rep", site="Lanaken", ts_ms=first.read.ts_ms + 60_000)
    console.alerts((first, False), (second, False), (second, False))  # at-least-once repeats carry the same id
    wait(lambda: second.alert_id in cards_of(console, "olga"), "the second pass did not arrive")
    card = cards_of(console, "olga")[second.alert_id]
    assert card["passes"] == 2 and card["sites"] == {"A2 Eijsden": 1, "Lanaken": 1}
    assert first.alert_id not in cards_of(console, "olga")  # one card, showing the newest pass


def test_plates_as_read_and_listed_have_their_differing_characters_marked(console: Console) -> None:
    a = make_alert("XX805R", read_as="XX8O5R", kind="ocr_equivalent")
    console.alerts((a, False))
    wait(lambda: a.alert_id in cards_of(console, "olga"), "no card")
    card = cards_of(console, "olga")[a.alert_id]
    assert (card["plate_read"], card["plate_listed"]) == ("XX8O5R", "XX805R")
    assert card["marks_read"] == [3] and card["marks_listed"] == [3]
    assert card["flow"] == "NL→BE" and card["cross_border"] is True


def test_a_covert_alert_is_shown_to_privileged_users_only_and_each_view_is_audited(console: Console) -> None:
    covert = make_alert("C0VERT1", list_name="nl-covert")
    shown = make_alert("OPEN001")
    console.alerts((covert, True), (shown, False))
    wait(lambda: shown.alert_id in cards_of(console, "olga"), "no open alert")
    assert covert.alert_id not in cards_of(console, "olga")
    wait(lambda: covert.alert_id in cards_of(console, "piet"), "no covert alert for the privileged user")
    denied = console.client("olga").post("/api/feedback", json={"alert_id": covert.alert_id, "outcome": "confirmed"})
    assert denied.status_code == 404  # not even its existence is told
    audits = [CovertView.model_validate_json(v) for v in topic_values(console.settings, console.settings.topics.audit)]
    assert {(v.alert_id, v.user, v.via) for v in audits} >= {(covert.alert_id, "piet", "page")}
    assert all(v.user == "piet" for v in audits)
    shared = console.client("anna").get("/api/shared").json()
    assert "nl-covert" not in {r["key"] for r in shared["per_list"]}  # the shared view leaves covert lists out


def test_an_analyst_gets_the_counts_and_no_plate(console: Console) -> None:
    a = make_alert("PL4TE99", list_name="be-stolen", agency=AGENCY_BE, agency_country="BE", camera_country="NL")
    console.alerts((a, False))
    anna = console.client("anna")
    wait(lambda: anna.get("/api/shared").json()["hits"] == 1, "no count")
    assert anna.get("/api/cards").status_code == 403
    assert anna.get("/", follow_redirects=False).headers["location"] == "/shared"
    body = anna.get("/api/shared").text + anna.get("/api/shared.csv").text
    assert "PL4TE99" not in body and a.entry.entry_id not in body
    assert "be-stolen" in body
    assert anna.post("/api/feedback", json={"alert_id": a.alert_id, "outcome": "confirmed"}).status_code == 403


def test_a_verdict_goes_to_the_compacted_topic_keyed_by_alert_id_and_bad_ones_are_refused(console: Console) -> None:
    a = make_alert("VERD1CT", kind="exact")
    console.alerts((a, False))
    wait(lambda: a.alert_id in cards_of(console, "olga"), "no card")
    olga = console.client("olga")
    for hostile in (
        b"not json",
        b"[1]",
        b'{"alert_id": 5, "outcome": "confirmed"}',
        b'{"alert_id": "nope", "outcome": "confirmed"}',
        json.dumps({"alert_id": a.alert_id, "outcome": "maybe"}).encode(),
        json.dumps({"alert_id": a.alert_id, "outcome": "false_hit"}).encode(),  # no reason
        json.dumps({"alert_id": a.alert_id, "outcome": "confirmed", "reason": "misread"}).encode(),
        json.dumps({"alert_id": a.alert_id, "outcome": "confirmed", "note": "x" * 10_000}).encode(),
        json.dumps({"alert_id": a.alert_id, "outcome": "confirmed", "note": {"a": [1e400]}}).encode(),
    ):
        assert olga.post("/api/feedback", content=hostile).status_code in (400, 404), hostile
    r = olga.post("/api/feedback", json={"alert_id": a.alert_id, "outcome": "false_hit", "reason": "misread"})
    assert r.status_code == 202, r.text
    records = list(read_topic_to_end(console.settings, console.settings.topics.feedback))
    assert len(records) == 1 and records[0][0] == a.alert_id.encode()
    v = AlertFeedback.model_validate_json(records[0][1] or b"")
    assert (v.outcome, v.reason, v.by, v.by_role, v.list_name, v.match_kind) == (
        "false_hit", "misread", "olga", "operator", "nl-stolen", "exact")  # fmt: skip
    wait(lambda: cards_of(console, "bert")[a.alert_id]["verdict"] is not None, "the verdict is not shown")
    assert cards_of(console, "bert")[a.alert_id]["verdict"]["by"] == "olga"  # type: ignore[index]


def test_lists_left_unanswered_are_shown_to_their_listing_agency(console: Console) -> None:
    hits = [make_alert(f"UNANS{i}", list_name="nl-wanted") for i in range(UNACKED_LIMIT + 1)]
    console.alerts(*((h, False) for h in hits))

    def overdue(user: str) -> list[dict[str, object]]:
        return console.client(user).get("/api/cards").json()["overdue"]  # type: ignore[no-any-return]

    wait(lambda: any(o["list_name"] == "nl-wanted" for o in overdue("olga")), "no overdue list for its agency")
    row = next(o for o in overdue("olga") if o["list_name"] == "nl-wanted" and o["entry_id"] is None)
    assert row["unanswered"] == UNACKED_LIMIT + 1
    assert overdue("bert") == []  # another agency's list
    olga = console.client("olga")
    assert olga.post("/api/feedback", json={"alert_id": hits[0].alert_id, "outcome": "no_action"}).status_code == 202
    wait(lambda: overdue("olga") == [], "an answered hit still counted as unanswered")


def test_hostile_records_on_the_alerts_and_feedback_topics_are_skipped_and_the_console_goes_on(
    console: Console,
) -> None:
    t = console.settings.topics
    bad: list[tuple[bytes | None, bytes | None]] = [
        (None, b"\xff\xfe"), (None, b"[]"), (None, b"{" * 5000), (None, b'{"alert_id": 1}'), (b"k", None),
    ]  # fmt: skip
    produce(console.settings, t.alerts, bad)
    produce(console.settings, t.feedback, [(b"x", b"{}"), (b"y", b"[]"), (b"\xff", b"1"), (b"gone", None)])
    good = make_alert("G00D001")
    console.alerts((good, False))
    wait(lambda: good.alert_id in cards_of(console, "olga"), "a valid alert after hostile records was lost")
    assert console.proc.poll() is None
    assert console.client(None).get("/readyz").text.startswith("ready; 7 records")  # 4 alerts, 3 verdicts


def test_the_shared_view_counts_equal_those_computed_from_the_topic_and_export_as_csv(console: Console) -> None:
    alerts = [
        make_alert("AA11BB", list_name="nl-stolen", camera_country="BE", site="Lanaken", ts_ms=1_796_000_000_000),
        make_alert("AA22BB", list_name="nl-stolen", camera_country="NL", site="Thorn", ts_ms=1_796_090_000_000),
        make_alert("AA33BB", list_name="be-drugs", agency=AGENCY_BE, agency_country="BE", camera_country="NL",
                   site="Thorn", ts_ms=1_796_180_000_000),
    ]  # fmt: skip
    console.alerts(*((a, False) for a in alerts))
    anna = console.client("anna")
    wait(lambda: anna.get("/api/shared").json()["hits"] == 3, "not all counted")
    expected = ConsoleState()
    for v in topic_values(console.settings, console.settings.topics.alerts):
        expected.add_alert(Alert.model_validate_json(v), False, 0)
    got = anna.get("/api/shared").json()
    want = expected.shared()
    for key in ("hits", "cross_border", "per_site", "per_list", "per_day", "per_hour", "per_flow", "per_category",
                "per_party", "per_day_hour"):  # fmt: skip
        assert got[key] == want[key], key
    assert got["cross_border"] == 2
    period = anna.get("/api/shared", params={"from": "2026-12-01", "to": "2026-12-01"}).json()
    assert period["hits"] == 1
    csv_rows = anna.get("/api/shared.csv").text.splitlines()
    assert csv_rows[0] == "dimension,party,key,hits,cross_border" and "site,—,Thorn,2,1" in csv_rows
    assert "all,—,,3,2" in csv_rows  # outside a federation every alert is of no party
    hours = anna.get("/api/shared-hours.csv").text.splitlines()
    assert hours[0] == "hour,party,crossing,list,hits,cross_border" and len(hours) == 4


def test_the_report_command_gives_false_hit_rates_per_list_and_match_kind(console: Console) -> None:
    a, b = make_alert("REP0RT1", kind="exact"), make_alert("REP0RT2", kind="ocr_equivalent", read_as="REPORT2")
    console.alerts((a, False), (b, False))
    olga = console.client("olga")
    wait(lambda: b.alert_id in cards_of(console, "olga") and a.alert_id in cards_of(console, "olga"), "no cards")
    olga.post("/api/feedback", json={"alert_id": a.alert_id, "outcome": "confirmed"})
    olga.post("/api/feedback", json={"alert_id": b.alert_id, "outcome": "confirmed"})
    olga.post("/api/feedback", json={"alert_id": b.alert_id, "outcome": "false_hit", "reason": "misread"})  # stands
    out = subprocess.run(
        [str(BIN / "anpr-console"), "report", "--json", "--bootstrap-servers", console.settings.bootstrap_servers,
         "--feedback-topic", console.settings.topics.feedback],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = {(r["list_name"], r["match_kind"]): r for r in json.loads(out.stdout)}
    assert rows["nl-stolen", "exact"]["false_hit_rate"] == 0.0
    assert rows["nl-stolen", "ocr_equivalent"]["false_hit_rate"] == 1.0
    assert rows["nl-stolen", "ocr_equivalent"]["verdicts"] == 1


def test_without_users_the_console_refuses_to_start_unless_login_is_disabled(tmp_path: object) -> None:
    r = subprocess.run(
        [str(BIN / "anpr-console"), "--port", "1"], capture_output=True, text=True,
        env={"ANPR_CONSOLE_AUTH": "password", "PATH": "/usr/bin:/bin"}, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2 and "no users configured" in r.stderr
    r = subprocess.run(
        [str(BIN / "anpr-console"), "--port", "1"], capture_output=True, text=True,
        env={"ANPR_CONSOLE_AUTH": "maybe", "PATH": "/usr/bin:/bin"}, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2 and "ANPR_CONSOLE_AUTH" in r.stderr


def test_the_feed_starts_on_topics_created_a_moment_before() -> None:
    """Found by the console benchmark: right after its topics were created the broker answered
    NOT_LEADER_FOR_PARTITION to the watermark request, and the console's start failed."""
    import uuid

    from anpr_engine.io.console_feed import ConsoleFeed
    from tests.helpers.console import console_settings

    for _ in range(3):
        feed = ConsoleFeed(console_settings(uuid.uuid4().hex[:10]), lambda records: None)
        assert feed.caught_up.is_set()  # empty topics: nothing to read back
        feed.consumer.close()
