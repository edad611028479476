"""The console in a federation, without a broker: the topics each console follows, the party and
hour dimensions of the shared view against plain recounts, hits made abroad, and the joint centre's
verdicts."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.config import Federation, Settings
from anpr_engine.console.shared import NO_PARTY, day_of, hour_of
from anpr_engine.console.state import ConsoleState
from anpr_engine.io.console_feed import Followed, created_topics, followed_topics, read_only
from anpr_engine.models import Alert, AlertFeedback
from tests.helpers.console import make_alert

DAY0 = 1_796_000_000_000  # 2026-11-30T...; whole days and hours are added to it


def verdict(a: Alert, outcome: str = "confirmed") -> AlertFeedback:
    reason = "misread" if outcome == "false_hit" else None
    return AlertFeedback(alert_id=a.alert_id, outcome=outcome, reason=reason, by="u", by_role="operator", at_ms=1,
                         list_name=a.entry.list_name, match_kind="exact")  # fmt: skip


def settings_of(**federation: object) -> Settings:
    return Settings(federation=Federation.model_validate(federation))


# --- the topics ------------------------------------------------------------------------------------


def test_outside_a_federation_the_console_follows_its_own_three_topics_as_before() -> None:
    s = Settings()
    assert followed_topics(s) == (
        Followed("anpr.alerts", "alerts"),
        Followed("anpr.alerts.covert", "alerts", covert=True),
        Followed("anpr.alerts.feedback", "feedback"),
    )
    assert created_topics(s) == ("anpr.alerts", "anpr.alerts.covert", "anpr.alerts.feedback", "anpr.console.audit")
    assert not read_only(s)
    assert followed_topics(settings_of(partners=["be"])) == followed_topics(s)  # releasing alone: no party yet


def test_a_partys_console_also_follows_each_partners_hits_on_its_lists_as_mirrored_here() -> None:
    s = settings_of(party="nl", partners=["be", "de"])
    copied = [f for f in followed_topics(s) if f.origin is not None]
    assert copied == [
        Followed("be.anpr.hits.nl", "alerts", covert=False, origin="be", abroad=True),
        Followed("be.anpr.hits.covert.nl", "alerts", covert=True, origin="be", abroad=True),
        Followed("de.anpr.hits.nl", "alerts", covert=False, origin="de", abroad=True),
        Followed("de.anpr.hits.covert.nl", "alerts", covert=True, origin="de", abroad=True),
    ]
    assert {f.topic for f in followed_topics(s) if f.origin is None} == {
        "anpr.alerts", "anpr.alerts.covert", "anpr.alerts.feedback"}  # fmt: skip
    assert not any(t.startswith(("be.", "de.")) for t in created_topics(s))  # MirrorMaker's to create


def test_the_centres_console_follows_each_partners_alerts_and_feedback_and_nothing_covert() -> None:
    s = settings_of(party="jc", role="centre", partners=["nl", "be"])
    assert followed_topics(s) == (
        Followed("nl.anpr.alerts", "alerts", origin="nl"),
        Followed("nl.anpr.alerts.feedback", "feedback", origin="nl"),
        Followed("be.anpr.alerts", "alerts", origin="be"),
        Followed("be.anpr.alerts.feedback", "feedback", origin="be"),
    )
    assert not any(f.covert for f in followed_topics(s))
    assert read_only(s) and created_topics(s) == ()


# --- the party and hour dimensions -----------------------------------------------------------------

ALERT = st.tuples(
    st.sampled_from([None, "nl", "be"]),  # matched_in
    st.sampled_from([None, "nl", "be"]),  # origin: the cluster it was copied from
    st.sampled_from(["Thorn", "Lanaken"]),  # site
    st.sampled_from(["nl-stolen", "be-drugs"]),  # list
    st.integers(0, 2),  # day
    st.integers(0, 23),  # hour
    st.booleans(),  # covert
)


@given(st.lists(ALERT, max_size=30), st.sampled_from([None, "nl"]), st.sampled_from([None, "nl", "be", NO_PARTY]))
def test_counts_per_party_crossing_list_and_hour_equal_a_recount(
    specs: list[tuple],
    own: str | None,
    only: str | None,  # type: ignore[type-arg]
) -> None:
    state = ConsoleState(party=own)
    taken = []
    for matched_in, origin, site, list_name, day, hour, covert in specs:
        a = make_alert(site=site, list_name=list_name, ts_ms=DAY0 + day * 86_400_000 + hour * 3_600_000,
                       camera_country="BE" if hour % 2 else "NL", matched_in=matched_in)  # fmt: skip
        state.add_alert(a, covert, 0, origin, abroad=origin is not None)
        if not covert:
            taken.append((matched_in or origin or own or NO_PARTY, a))
    view = state.shared(party=only)
    shown = [(p, a) for p, a in taken if only is None or p == only]
    assert view["hits"] == len(shown)
    assert view["parties"] == sorted({p for p, _ in taken})
    assert {r["key"]: r["hits"] for r in view["per_party"]} == dict(Counter(p for p, _ in shown))
    assert {(r["key"], r["party"]): (r["hits"], r["cross_border"]) for r in view["per_site"]} == {
        k: (n, sum(a.cross_border for p, a in shown if (a.read.site, p) == k))
        for k, n in Counter((a.read.site, p) for p, a in shown).items()
    }
    assert {(r["key"], r["party"]): r["hits"] for r in view["per_list"]} == dict(
        Counter((a.entry.list_name, p) for p, a in shown))  # fmt: skip
    hours = Counter((f"{day_of(a.read.ts_ms)}T{hour_of(a.read.ts_ms):02d}", p) for p, a in shown)
    assert {(r["key"], r["party"]): r["hits"] for r in view["per_day_hour"]} == dict(hours)
    assert sum(r["hits"] for r in view["per_day"]) == len(shown)
    detail = Counter(
        (f"{day_of(a.read.ts_ms)}T{hour_of(a.read.ts_ms):02d}:00Z", p, a.read.site, a.entry.list_name) for p, a in shown
    )
    rows = state.hourly(party=only)
    assert {(r["hour"], r["party"], r["site"], r["list"]): r["hits"] for r in rows} == dict(detail)
    assert [r["hour"] for r in rows] == sorted(r["hour"] for r in rows)


def test_outside_a_federation_every_count_is_of_no_party_and_the_tables_keep_one_row_per_key() -> None:
    state = ConsoleState()
    for site in ("Thorn", "Thorn", "Lanaken"):
        state.add_alert(make_alert(site=site, ts_ms=DAY0), False, 0)
    view = state.shared()
    assert view["parties"] == [NO_PARTY] and view["per_party"] == [{"key": NO_PARTY, "hits": 3, "cross_border": 3}]
    assert [(r["key"], r["party"], r["hits"]) for r in view["per_site"]] == [
        ("Lanaken", NO_PARTY, 1), ("Thorn", NO_PARTY, 2)]  # fmt: skip


def test_the_period_and_the_party_both_narrow_the_view() -> None:
    state = ConsoleState(party="nl")
    state.add_alert(make_alert(ts_ms=DAY0), False, 0)  # nl, day 0
    state.add_alert(make_alert(ts_ms=DAY0 + 86_400_000, matched_in="be"), False, 0, "be", True)  # be, day 1
    day1 = day_of(DAY0 + 86_400_000)
    assert state.shared(first_day=day1)["hits"] == 1
    assert state.shared(party="nl")["hits"] == 1
    assert state.shared(first_day=day1, party="nl")["hits"] == 0
    assert [r["party"] for r in state.hourly(first_day=day1)] == ["be"]


# --- hits made abroad ------------------------------------------------------------------------------


def test_a_hit_made_abroad_has_its_own_card_marked_with_where_it_was_seen_and_is_answered_here() -> None:
    state = ConsoleState(party="nl")
    home = make_alert(entry_id="E1", ts_ms=DAY0, camera_country="NL", matched_in="nl", listed_by="nl")
    abroad = make_alert(entry_id="E1", ts_ms=DAY0 + 60_000, camera_country="BE", matched_in="be", listed_by="nl")
    home_card = state.add_alert(home, False, 0)
    abroad_card = state.add_alert(abroad, False, 0, origin="be", abroad=True)
    assert home_card is not None and abroad_card is not None and home_card is not abroad_card
    view = abroad_card.view(state.verdicts)
    assert (view["abroad"], view["party"], view["listed_by"]) == (True, "be", "nl")
    assert (home_card.view(state.verdicts)["abroad"], home_card.view(state.verdicts)["party"]) == (False, "nl")
    assert state.add_verdict(abroad.alert_id, verdict(abroad)) is abroad_card  # recorded on nl's own feedback
    assert abroad_card.view(state.verdicts)["verdict"]["outcome"] == "confirmed"
    assert state.unanswered_lists["nl-stolen"] == 1  # the home pass only
    assert {r["key"]: r["hits"] for r in state.shared()["per_party"]} == {"nl": 1, "be": 1}
    assert state.shared()["verdicts"][0]["party"] == "nl"


def test_a_covert_hit_made_abroad_is_a_covert_card_and_is_left_out_of_the_shared_view() -> None:
    state = ConsoleState(party="nl")
    a = make_alert(list_name="nl-covert", matched_in="be", listed_by="nl")
    card = state.add_alert(a, True, 0, origin="be", abroad=True)
    assert card is not None and card.covert and card.abroad
    assert state.newest_cards(10, covert=False) == [] and state.newest_cards(10, covert=True) == [card]
    assert state.shared()["hits"] == 0 and state.shared()["parties"] == []


def test_an_alert_without_matched_in_takes_the_party_of_the_topic_it_came_from() -> None:
    state = ConsoleState(party="nl")
    state.add_alert(make_alert(camera_country="BE"), False, 0)  # an older engine's alert on nl's own topic
    state.add_alert(make_alert(camera_country="NL"), False, 0, origin="be", abroad=True)
    assert {r["key"]: r["hits"] for r in state.shared()["per_party"]} == {"nl": 1, "be": 1}


# --- the joint centre ------------------------------------------------------------------------------


def test_at_the_centre_an_alert_is_answered_by_the_party_it_came_from_and_other_verdicts_count_under_theirs() -> None:
    state = ConsoleState(party="jc", centre=True)
    a = make_alert(entry_id="E1", ts_ms=DAY0, camera_country="BE", matched_in="be", listed_by="nl")
    b = make_alert(entry_id="E1", ts_ms=DAY0 + 1000, camera_country="NL", matched_in="nl", listed_by="nl")
    assert state.add_verdict(a.alert_id, verdict(a, "false_hit"), origin="nl") is None  # before its alert
    card_a = state.add_alert(a, False, 0, origin="be")
    card_b = state.add_alert(b, False, 0, origin="nl")
    assert card_a is not None and card_b is not None and card_a is not card_b  # one entry, one day, two parties
    assert card_a.view(state.verdicts)["verdict"] is None  # nl's verdict on be's hit does not stand on it
    assert state.add_verdict(a.alert_id, verdict(a), origin="be") is card_a
    assert card_a.view(state.verdicts)["verdict"]["outcome"] == "confirmed"
    rates = {r["party"]: (r["confirmed"], r["false_hit"]) for r in state.shared()["verdicts"]}
    assert rates == {"be": (1, 0), "nl": (0, 1)}
    assert [r["party"] for r in state.shared(party="nl")["verdicts"]] == ["nl"]
    assert {r["key"]: r["hits"] for r in state.shared()["per_party"]} == {"be": 1, "nl": 1}


def test_at_the_centre_nothing_is_overdue_for_nobody_there_answers() -> None:
    state = ConsoleState(unacked_limit=1, party="jc", centre=True)
    for _ in range(3):
        state.add_alert(make_alert(entry_id="E1", matched_in="be"), False, 0, origin="be")
    assert state.unanswered_lists["nl-stolen"] == 3
    assert state.overdue(None, covert=True) == []
