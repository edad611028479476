"""The console in a real browser: Debian's chromium driven through chromium-driver (selenium).
Screenshots of each page go to $ANPR_SCREENSHOTS when it is set (`make screenshots`)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from anpr_engine.config import replica
from anpr_engine.console.state import ConsoleState
from anpr_engine.io.topic_readers import read_topic_to_end
from anpr_engine.models import Alert, AlertFeedback
from tests.helpers.console import (
    AGENCY_BE,
    PASSWORD,
    Console,
    console_settings,
    create_replica,
    federated_settings,
    make_alert,
    start_console,
)  # fmt: skip
from tests.helpers.kafka import produce, terminate, topic_values

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium and chromium-driver are installed by the Makefile"),
]
SHOTS = os.environ.get("ANPR_SCREENSHOTS")
WAIT_S = 20  # how long a test waits for the page; the time to screen is measured by benchmarks/console_latency.py


@pytest.fixture
def browsers() -> Iterator[Callable[[], WebDriver]]:
    opened: list[WebDriver] = []

    def open_one() -> WebDriver:
        o = webdriver.ChromeOptions()
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1500,1100"):
            o.add_argument(a)
        o.binary_location = CHROMIUM or ""
        d = webdriver.Chrome(service=Service(DRIVER), options=o)
        opened.append(d)
        return d

    yield open_one
    for d in opened:
        d.quit()


def log_in(d: WebDriver, console: Console, user: str) -> None:
    d.get(console.url + "/login")
    d.find_element(By.ID, "name").send_keys(user)
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.ID, "submit").click()
    until(d, page_ready, "the page after logging in")


def page_ready(d: WebDriver) -> bool:
    """The page's script has loaded its first screen (it sets body[data-ready])."""
    return d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"


def card(d: WebDriver, alert_id: str) -> list[object]:
    return d.find_elements(By.CSS_SELECTOR, f'article.card[data-alert-id="{alert_id}"]')


def shown(d: WebDriver, alert_id: str) -> bool:
    try:
        found = card(d, alert_id)
        return bool(found) and found[0].is_displayed()  # type: ignore[attr-defined]
    except StaleElementReferenceException:
        return False


def until(d: WebDriver, done: Callable[[WebDriver], bool], why: str) -> None:
    WebDriverWait(d, WAIT_S, ignored_exceptions=(StaleElementReferenceException,)).until(done, why)


def shot(d: WebDriver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


def test_an_alert_produced_to_the_topic_appears_on_the_page_newest_first_and_high_priority_stands_out(
    console: Console, browsers: Callable[[], WebDriver]
) -> None:
    d = browsers()
    log_in(d, console, "olga")
    low = make_alert("L0W0001", priority=80)
    console.alerts((low, False))
    until(d, lambda d: shown(d, low.alert_id), "the alert did not appear")
    high = make_alert("H1GH001", read_as="H1GHOO1", priority=3)
    started = time.monotonic()
    console.alerts((high, False))
    until(d, lambda d: shown(d, high.alert_id), "the alert did not appear")
    print(f"\nFIGURES console one alert to screen: {time.monotonic() - started:.3f} s (produce included)")
    first = d.find_element(By.CSS_SELECTOR, "main#cards article.card")
    assert first.get_attribute("data-alert-id") == high.alert_id
    assert "high" in (first.get_attribute("class") or "")
    marked = [e.text for e in first.find_elements(By.CSS_SELECTOR, ".plate.read .diff")]
    assert marked == ["O", "O"]
    assert "cross-border NL→BE" in first.text and "P3" in first.text
    shot(d, "alerts")


def test_filters_hide_and_show_alerts(console: Console, browsers: Callable[[], WebDriver]) -> None:
    nl = make_alert("F1LTNL1", list_name="nl-stolen", camera_country="NL", site="Thorn", priority=40)
    be = make_alert("F1LTBE1", list_name="be-drugs", agency=AGENCY_BE, agency_country="BE", camera_country="NL",
                    site="Thorn", priority=5)  # fmt: skip
    console.alerts((nl, False), (be, False))
    d = browsers()
    log_in(d, console, "olga")
    until(d, lambda d: shown(d, nl.alert_id) and shown(d, be.alert_id), "the alerts did not appear")
    Select(d.find_element(By.ID, "f-list")).select_by_value("be-drugs")
    until(d, lambda d: not shown(d, nl.alert_id) and shown(d, be.alert_id), "the list filter")
    Select(d.find_element(By.ID, "f-list")).select_by_value("")
    d.find_element(By.ID, "f-cross").click()
    until(d, lambda d: not shown(d, nl.alert_id) and shown(d, be.alert_id), "the cross-border filter")
    d.find_element(By.ID, "f-cross").click()
    d.find_element(By.ID, "f-priority").send_keys("10")
    until(d, lambda d: not shown(d, nl.alert_id) and shown(d, be.alert_id), "the priority filter")
    d.find_element(By.ID, "f-priority").clear()
    Select(d.find_element(By.ID, "f-country")).select_by_value("BE")
    until(d, lambda d: not shown(d, nl.alert_id) and shown(d, be.alert_id), "the country filter")
    Select(d.find_element(By.ID, "f-country")).select_by_value("")
    until(d, lambda d: shown(d, nl.alert_id) and shown(d, be.alert_id), "filters off: both again")


def test_a_confirmation_click_writes_the_feedback_record_and_a_second_browser_sees_the_new_state(
    console: Console, browsers: Callable[[], WebDriver]
) -> None:
    a = make_alert("C0NF1RM")
    console.alerts((a, False))
    one, two = browsers(), browsers()
    log_in(one, console, "olga")
    log_in(two, console, "bert")
    for d in (one, two):
        until(d, lambda d: shown(d, a.alert_id), "the alert did not appear")
    card(one, a.alert_id)[0].find_element(By.CSS_SELECTOR, 'button[data-outcome="confirmed"]').click()  # type: ignore[attr-defined]
    until(two, lambda d: "confirmed by olga" in card(d, a.alert_id)[0].text, "the second browser saw no verdict")  # type: ignore[attr-defined]
    records = [AlertFeedback.model_validate_json(v or b"") for _, v in
               read_topic_to_end(console.settings, console.settings.topics.feedback)]  # fmt: skip
    assert [(r.alert_id, r.outcome, r.by) for r in records] == [(a.alert_id, "confirmed", "olga")]


def test_an_operator_cannot_see_a_covert_alert_and_a_privileged_user_can(
    console: Console, browsers: Callable[[], WebDriver]
) -> None:
    covert = make_alert("C0V3RT1", list_name="nl-covert", priority=2)
    marker = make_alert("0P3N001")
    console.alerts((covert, True), (marker, False))
    op, priv = browsers(), browsers()
    log_in(op, console, "olga")
    log_in(priv, console, "piet")
    until(op, lambda d: shown(d, marker.alert_id), "the open alert did not appear")
    until(priv, lambda d: shown(d, covert.alert_id), "the privileged user did not see the covert alert")
    later = make_alert("C0V3RT2", list_name="nl-covert")  # live, not only on the first screen
    console.alerts((later, True), (make_alert("0P3N002"), False))
    until(priv, lambda d: shown(d, later.alert_id), "the live covert alert")
    assert "C0V3RT" not in op.page_source and not card(op, covert.alert_id)
    shot(priv, "alerts-privileged")


def test_an_analyst_sees_the_counts_but_no_plate(console: Console, browsers: Callable[[], WebDriver]) -> None:
    a = make_alert("AN4LYST", list_name="be-stolen", agency=AGENCY_BE, agency_country="BE", camera_country="NL")
    console.alerts((a, False))
    d = browsers()
    log_in(d, console, "anna")
    assert d.current_url.endswith("/shared")
    until(d, lambda d: d.find_element(By.ID, "hits").text == "1", "no count")
    d.get(console.url + "/")
    until(d, lambda d: d.current_url.endswith("/shared"), "the alerts page was not refused")
    until(d, page_ready, "page")
    assert "AN4LYST" not in d.page_source and a.entry.entry_id not in d.page_source
    assert "be-stolen" in d.page_source


def test_the_shared_view_counts_equal_those_computed_from_the_topic(
    console: Console, browsers: Callable[[], WebDriver]
) -> None:
    sites = ("Thorn", "Lanaken", "A2 Eijsden", "Thorn", "A67 Venlo", "Thorn")
    alerts = [
        make_alert(f"SH4RED{i}", camera_country="NL" if i % 2 else "BE", site=s,
                   ts_ms=1_796_000_000_000 + i * 30_000_000)
        for i, s in enumerate(sites)
    ]  # fmt: skip
    console.alerts(*((a, False) for a in alerts))
    d = browsers()
    log_in(d, console, "anna")
    until(d, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-hits") == str(len(sites)), "counts")
    expected = ConsoleState()
    for v in topic_values(console.settings, console.settings.topics.alerts):
        expected.add_alert(Alert.model_validate_json(v), False, 0)
    want = expected.shared()
    assert d.find_element(By.ID, "hits").text == str(want["hits"])
    assert d.find_element(By.ID, "cross").text == str(want["cross_border"])
    for row in want["per_site"]:
        tr = d.find_element(By.CSS_SELECTOR, f'#t-site tr[data-key="{row["key"]}"]')
        assert [td.text for td in tr.find_elements(By.TAG_NAME, "td")] == [
            row["key"], str(row["hits"]), str(row["cross_border"])]  # fmt: skip
    dots = {e.get_attribute("data-site") for e in d.find_elements(By.CSS_SELECTOR, "#map circle.hits")}
    assert dots == {r["key"] for r in want["per_site"]}
    shot(d, "shared")


def test_with_login_disabled_the_page_says_so_plainly(tmp_path: Path, browsers: Callable[[], WebDriver]) -> None:
    c = start_console(tmp_path, console_settings("noauth" + str(time.time_ns())), auth="none")
    try:
        d = browsers()
        d.get(c.url + "/")
        until(d, page_ready, "page")
        banner = d.find_element(By.ID, "no-login")
        assert banner.is_displayed() and "ANPR_CONSOLE_AUTH=none" in banner.text
    finally:
        terminate(c.proc)  # type: ignore[arg-type]


def test_a_hit_made_abroad_is_marked_with_where_it_was_seen_and_can_be_filtered(
    tmp_path: Path, browsers: Callable[[], WebDriver]
) -> None:
    s = federated_settings(uuid.uuid4().hex[:10], party="nl", partners=["be"])
    create_replica(s, replica("be", s.topics.hits("nl")))
    abroad = make_alert("ABR0AD2", camera_country="BE", matched_in="be", listed_by="nl")
    home = make_alert("H0ME002", camera_country="NL", matched_in="nl", listed_by="nl")
    produce(s, replica("be", s.topics.hits("nl")), [(None, abroad.model_dump_json().encode())])
    c = start_console(tmp_path, s)
    try:
        c.alerts((home, False))
        d = browsers()
        log_in(d, c, "olga")
        until(d, lambda d: shown(d, abroad.alert_id) and shown(d, home.alert_id), "the alerts did not appear")
        mark = card(d, abroad.alert_id)[0].find_element(By.CSS_SELECTOR, ".seen.abroad")  # type: ignore[attr-defined]
        assert mark.is_displayed() and mark.text == "seen in BE"
        assert not card(d, home.alert_id)[0].find_element(By.CSS_SELECTOR, ".seen").is_displayed()  # type: ignore[attr-defined]
        Select(d.find_element(By.ID, "f-seen")).select_by_value("abroad")
        until(d, lambda d: shown(d, abroad.alert_id) and not shown(d, home.alert_id), "the filter on hits abroad")
        shot(d, "alerts-abroad")
    finally:
        terminate(c.proc)  # type: ignore[arg-type]


def test_the_centres_page_has_no_verdict_buttons(tmp_path: Path, browsers: Callable[[], WebDriver]) -> None:
    s = federated_settings(uuid.uuid4().hex[:10], party="jc", role="centre", partners=["be"])
    create_replica(s, replica("be", s.topics.alerts))
    a = make_alert("CENTRE1", camera_country="BE", matched_in="be")
    produce(s, replica("be", s.topics.alerts), [(None, a.model_dump_json().encode())])
    c = start_console(tmp_path, s)
    try:
        d = browsers()
        log_in(d, c, "olga")
        until(d, lambda d: shown(d, a.alert_id), "the alert did not appear")
        assert card(d, a.alert_id)[0].find_elements(By.CSS_SELECTOR, ".verdict button") == []  # type: ignore[attr-defined]
        assert "seen in BE" in card(d, a.alert_id)[0].text  # type: ignore[attr-defined]
        assert d.find_element(By.ID, "read-only").is_displayed()
    finally:
        terminate(c.proc)  # type: ignore[arg-type]


@pytest.mark.skipif(not (os.environ.get("ANPR_CONSOLE_URL") and SHOTS), reason="run by `make screenshots`")
def test_demo_screenshots(browsers: Callable[[], WebDriver]) -> None:
    """The README's pictures of a running demo's console (login disabled there)."""
    url = os.environ["ANPR_CONSOLE_URL"]
    d = browsers()
    for path, name in (("/", "demo-alerts"), ("/shared", "demo-shared")):
        d.get(url + path)
        until(d, page_ready, "page")
        time.sleep(1)
        shot(d, name)
    d.set_window_size(1500, 2200)
    d.get(url + "/shared")
    until(d, page_ready, "page")
    time.sleep(1)
    shot(d, "demo-shared-full")
