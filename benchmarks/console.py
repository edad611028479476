"""The operator console under load, against the local broker (`python -m benchmarks.console`):

1. time to screen: alerts produced one by one to the alerts topic; a real browser (Debian's
   chromium) on the live page records, for each, the time from the record's Kafka timestamp to
   its card on screen; p50 and p99.
2. concurrent clients: N server-sent-event clients while alerts are produced at a set rate
   (1 000/s by default); a client keeps up when it gets every alert and its p99 lag stays under
   a second; reported for each N.

The console runs as its own process (`anpr-console`, login disabled), as an operator would start it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from anpr_engine.config import Settings, TopicNames
from anpr_engine.io.admin import ensure_topics
from anpr_engine.io.producer import AckedProducer, new_producer
from anpr_engine.models import Alert, MatchInfo, PlateRead, WatchlistEntry

BIN = Path(sys.executable).parent
KAFKA_TS = re.compile(rb'"kafka_ts_ms": ?(\d+)')


def alert_values(n: int) -> list[bytes]:
    """n alerts of n different entries (each its own card, so every alert is one card update)."""
    now = int(time.time() * 1000)
    out = []
    for i in range(n):
        read = PlateRead(
            read_id=f"r{i}", camera_id="BE-LIXHE-E25", camera_country="BE", site="E25 Visé-Lixhe", lane=1,
            direction="inbound", ts_ms=now, plate_text=f"X{i:06d}", confidence=0.9,
        )  # fmt: skip
        entry = WatchlistEntry(
            entry_id=f"E{i}-{uuid.uuid4().hex[:6]}", plate=f"X{i:06d}", list_name="nl-stolen",
            agency="Politie Eenheid Limburg", agency_country="NL", category="stolen_vehicle", priority=50,
        )  # fmt: skip
        match = MatchInfo(kind="exact", equivalences=0, score=1.0, plate_read=f"X{i:06d}", plate_listed=f"X{i:06d}")
        a = Alert(alert_id=str(uuid.uuid4()), read=read, entry=entry, match=match, produced_at_ms=now)
        out.append(a.model_dump_json().encode())
    return out


def produce_at(settings: Settings, values: list[bytes], per_s: float) -> None:
    out = AckedProducer(new_producer(settings, **{"linger.ms": 0}))
    out.produce(settings.topics.reads, b"warm-up")  # connected, producer id known: not in the figures
    out.flush()
    start = time.monotonic()
    for i, v in enumerate(values):
        ahead = start + i / per_s - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        out.produce(settings.topics.alerts, v)
        out.producer.poll(0)
    out.flush()


def pct(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 else (xs or [float("nan")])[0]


def start_console(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    t = settings.topics
    env = {**os.environ, "ANPR_CONSOLE_AUTH": "none", "ANPR_KAFKA_BOOTSTRAP": settings.bootstrap_servers}
    proc = subprocess.Popen(
        [str(BIN / "anpr-console"), "--port", str(port), "--alerts-topic", t.alerts, "--covert-alerts-topic",
         t.alerts_covert, "--feedback-topic", t.feedback, "--audit-topic", t.audit],
        env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the console did not get ready")


def time_to_screen(settings: Settings, url: str, alerts: int, per_s: float) -> dict[str, Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        o.add_argument(a)
    o.binary_location = shutil.which("chromium") or ""
    d = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=o)
    try:
        d.get(url + "/")
        WebDriverWait(d, 30).until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")
        produce_at(settings, alert_values(alerts), per_s)
        WebDriverWait(d, 60).until(lambda d: d.execute_script("return window.anprLatencies.length") >= alerts)
        lat = [float(x) for x in d.execute_script("return window.anprLatencies")]
    finally:
        d.quit()
    return {"alerts": alerts, "per_s": per_s, "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": max(lat)}


async def sse_client(url: str, lags: list[float], ready: asyncio.Event, stop: asyncio.Event) -> bool:
    """Counts alerts as they come (their lag from the Kafka timestamp); False if told to reload.
    Reads raw bytes and scans whole lines with a regex: a client that parsed each event's JSON in
    Python was measured as much as the console."""
    async with httpx.AsyncClient(timeout=None) as c, c.stream("GET", url + "/api/events") as r:
        ready.set()
        rest = b""
        async for chunk in r.aiter_raw():
            now = time.time() * 1000
            lines, _, rest = (rest + chunk).rpartition(b"\n")
            lags.extend(now - int(ts) for ts in KAFKA_TS.findall(lines))
            if b"event: reload" in lines:
                return False
            if stop.is_set():
                return True
    return True


async def many_clients(settings: Settings, url: str, clients: int, alerts: int, per_s: float) -> dict[str, Any]:
    lags: list[list[float]] = [[] for _ in range(clients)]
    readies = [asyncio.Event() for _ in range(clients)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(sse_client(url, lags[i], readies[i], stop)) for i in range(clients)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
    await asyncio.sleep(0.5)
    values = alert_values(alerts)
    producing = threading.Thread(target=produce_at, args=(settings, values, per_s))
    started = time.monotonic()
    producing.start()
    while time.monotonic() - started < alerts / per_s + 30 and min(map(len, lags)) < alerts:
        await asyncio.sleep(0.2)
    producing.join()
    stop.set()
    for t in tasks:
        t.cancel()
    got = [len(x) for x in lags]
    p99s = [pct(x, 99) for x in lags if x]
    kept_up = sum(1 for x in lags if len(x) >= alerts and pct(x, 99) < 1000)
    return {
        "clients": clients, "alerts": alerts, "per_s": per_s, "kept_up": kept_up,
        "fewest_received": min(got), "worst_p99_ms": max(p99s) if p99s else None,
        "median_p99_ms": statistics.median(p99s) if p99s else None,
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", default="1,10,50,100,200", help="numbers of SSE clients to try")
    p.add_argument("--rate", type=float, default=1000.0, help="alerts per second while the clients listen")
    p.add_argument("--seconds", type=float, default=10.0, help="how long the rate is held")
    p.add_argument("--screen-alerts", type=int, default=300, help="alerts for the time-to-screen figure")
    args = p.parse_args()
    run = uuid.uuid4().hex[:8]
    names = {
        k: f"bench.{run}.{k}" for k in ("reads", "alerts", "alerts_covert", "watchlist", "dlq", "feedback", "audit")
    }
    settings = Settings(topics=TopicNames(**names))
    ensure_topics(settings)
    port = 18080
    url = f"http://127.0.0.1:{port}"
    proc = start_console(settings, port)
    try:
        r = time_to_screen(settings, url, args.screen_alerts, 20.0)
        print(f"console time to screen: {r['alerts']} alerts at {r['per_s']:.0f}/s: "
              f"p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, max {r['max_ms']:.0f} ms")  # fmt: skip
        for n in map(int, args.clients.split(",")):
            r = asyncio.run(many_clients(settings, url, n, int(args.rate * args.seconds), args.rate))
            print(f"console clients={r['clients']}: {r['alerts']} alerts at {r['per_s']:.0f}/s: kept up "
                  f"{r['kept_up']}/{r['clients']}, fewest received {r['fewest_received']}, p99 lag median "
                  f"{r['median_p99_ms']:.0f} ms, worst {r['worst_p99_ms']:.0f} ms", flush=True)  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    main()
