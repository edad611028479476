"""The console's state against plain recounts of what it was given (no broker)."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from anpr_engine.console.shared import day_of
from anpr_engine.console.state import ConsoleState, differing
from anpr_engine.models import AlertFeedback
from tests.helpers.console import make_alert

PLATE = st.text(alphabet="AB0O8", max_size=8)


@given(PLATE, PLATE)
def test_the_unmarked_characters_of_both_plates_are_the_same_in_the_same_order(read: str, listed: str) -> None:
    marks_read, marks_listed = differing(read, listed)
    kept_read = "".join(c for i, c in enumerate(read) if i not in marks_read)
    kept_listed = "".join(c for i, c in enumerate(listed) if i not in marks_listed)
    assert kept_read == kept_listed
    assert (marks_read == [] and marks_listed == []) == (read == listed)


ALERT = st.tuples(
    st.sampled_from(["E1", "E2", "E3"]),  # entry
    st.sampled_from(["Thorn", "Lanaken"]),  # site
    st.sampled_from(["NL", "BE"]),  # camera country
    st.integers(0, 3),  # day
    st.integers(0, 23),  # hour
    st.booleans(),  # covert
)


@given(st.lists(ALERT, max_size=30), st.data())
def test_cards_counts_and_unanswered_hits_equal_a_recount(specs: list[tuple], data: st.DataObject) -> None:  # type: ignore[type-arg]
    state = ConsoleState(unacked_limit=1)
    alerts = []
    for entry, site, country, day, hour, covert in specs:
        ts = 1_796_000_000_000 + day * 86_400_000 + hour * 3_600_000
        a = make_alert(entry_id=entry, site=site, camera_country=country, ts_ms=ts,
                       list_name="covert" if covert else "nl-stolen")  # fmt: skip
        alerts.append((a, covert))
    answered = data.draw(st.sets(st.integers(0, max(len(alerts) - 1, 0)))) if alerts else set()
    early = data.draw(st.booleans())  # verdicts before their alerts (another topic), or after

    def verdicts() -> None:
        for i in answered:
            a = alerts[i][0]
            v = AlertFeedback(alert_id=a.alert_id, outcome="confirmed", by="u", by_role="operator", at_ms=1,
                              list_name=a.entry.list_name, match_kind="exact")  # fmt: skip
            state.add_verdict(a.alert_id, v)

    if early:
        verdicts()
    for a, covert in alerts + alerts[:3]:  # repeats of an alert id count once
        state.add_alert(a, covert, 0)
    if not early:
        verdicts()
    assert state.alerts == len(alerts)
    assert set(state.cards) == {f"{a.entry.entry_id}|{day_of(a.read.ts_ms)}" for a, _ in alerts}
    assert sum(len(c.alert_ids) for c in state.cards.values()) == len(alerts)
    shown = [a for a, covert in alerts if not covert]
    view = state.shared()
    assert view["hits"] == len(shown)
    assert view["cross_border"] == sum(a.cross_border for a in shown)
    assert {r["key"]: r["hits"] for r in view["per_site"]} == dict(Counter(a.read.site for a in shown))
    unanswered = Counter(a.entry.list_name for i, (a, _) in enumerate(alerts) if i not in answered)
    assert {k: v for k, v in state.unanswered_lists.items() if v} == dict(unanswered)
    overdue = {o["list_name"] for o in state.overdue(None, covert=False) if o["entry_id"] is None}
    assert overdue == {n for n, c in unanswered.items() if c > 1 and n != "covert"}
    by_entry = Counter((a.entry.list_name, a.entry.entry_id) for i, (a, _) in enumerate(alerts) if i not in answered)
    entries = {(o["list_name"], o["entry_id"]) for o in state.overdue(None, covert=True) if o["entry_id"]}
    assert entries == {k for k, c in by_entry.items() if c > 1}
    for i in answered:  # withdrawn verdicts (tombstones) count as unanswered again
        state.add_verdict(alerts[i][0].alert_id, None)
    assert {k: v for k, v in state.unanswered_lists.items() if v} == dict(Counter(a.entry.list_name for a, _ in alerts))
