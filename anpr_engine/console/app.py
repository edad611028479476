"""The operator console: a Starlette application (ASGI, served by uvicorn) with server-sent events
(sse-starlette) for live alerts. The page is plain HTML and JavaScript from `static/`, no build step.

The console's state is rebuilt from the alerts and feedback topics at start and kept live by the
feed thread (io.console_feed); what a user gets is cut to their role on the server (console.access).
A verdict is done when the broker has it; every console, this one included, shows it when it comes
back from the feedback topic.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sse_starlette.event import ServerSentEvent
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from anpr_engine.config import Settings
from anpr_engine.console.access import NOBODY, Sessions, User
from anpr_engine.console.sites import BORDER_BE_NL, BORDER_NL_DE, site_coordinates
from anpr_engine.console.state import Card, ConsoleState
from anpr_engine.io.console_feed import AlertRecord, ConsoleFeed, ConsoleOut, FeedRecord
from anpr_engine.models import AlertFeedback, CovertView, FalseHitReason, Outcome

STATIC = Path(__file__).parent / "static"
COOKIE = "anpr_session"
CLIENT_QUEUE = 2000  # events a slow client may have waiting before it is told to load the page again
SEND_EVERY_S = 0.1  # least time between two sends of changed cards to the clients
TICK_S = 1.0  # how often overdue lists and the shared view's "changed" are sent


def frame(event: str, data: str) -> bytes:
    """One server-sent event, encoded once for every client that gets it (encoding it per client
    took 15 % of the console's time with 10 clients at 1 000 alerts/s)."""
    return ServerSentEvent(data=data, event=event).encode()


RELOAD = frame("reload", "{}")


@dataclass(eq=False)
class Client:
    user: User
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(CLIENT_QUEUE))
    overdue: str = ""
    behind: bool = False

    def send(self, event: bytes) -> None:
        if self.behind:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:  # it cannot keep up: drop its backlog, have it start again
            self.behind = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RELOAD)


class Hub:
    """The state and the clients: records from the feed are applied in the event loop's thread
    (no locks), and each change is sent once per kind of view (with or without covert alerts)."""

    def __init__(self, settings: Settings, out: ConsoleOut) -> None:
        self.settings = settings
        self.state = ConsoleState(settings.console.unacked_limit)
        self.out = out
        self.clients: set[Client] = set()
        self.changed = False
        self.pending: dict[str, Card] = {}  # changed since the last send
        self._send_at: float | None = None
        self._sent_at = float("-inf")

    def take(self, records: list[FeedRecord]) -> None:
        for r in records:
            card = (
                self.state.add_alert(r.alert, r.covert, r.kafka_ts_ms)
                if isinstance(r, AlertRecord)
                else self.state.add_verdict(r.alert_id, r.verdict)
            )
            if card is not None:
                self.pending[card.key] = card
        if not self.pending:
            return
        self.changed = True
        if self._send_at is not None:
            return
        loop = asyncio.get_running_loop()
        self._send_at = max(loop.time(), self._sent_at + SEND_EVERY_S)
        loop.call_at(self._send_at, self.send)

    def send(self) -> None:
        """The cards changed since the last send, to every client that sees plates: at once when
        the last send is SEND_EVERY_S old, else then (at 1 000 alerts/s, ten events a second a
        client instead of one per fetch)."""
        self._send_at, self._sent_at = None, asyncio.get_running_loop().time()
        cards, self.pending = self.pending, {}
        watching = [c for c in self.clients if c.user.sees_plates]
        if not watching:
            return
        verdicts = self.state.verdicts
        views = {k: c.view(verdicts) for k, c in cards.items()}
        open_views = frame("cards", compact([v for v in views.values() if not v["covert"]]))
        all_views = (
            frame("cards", compact(list(views.values()))) if any(v["covert"] for v in views.values()) else open_views
        )
        covert = [c for c in cards.values() if c.covert]
        for client in watching:
            client.send(all_views if client.user.sees_covert else open_views)
            if covert and client.user.sees_covert:
                self.audit(client.user, covert, "live")

    def audit(self, user: User, cards: list[Card], via: str) -> None:
        if not cards:
            return
        now = int(time.time() * 1000)
        self.out.audit(
            [CovertView(alert_id=c.latest.alert_id, list_name=c.latest.entry.list_name, user=user.name,
                        role=user.role, at_ms=now, via=via) for c in cards]
        )  # fmt: skip

    def tick(self) -> None:
        """Once a second: each client's overdue lists when they changed; the shared view's clients
        are told that the counts changed (they fetch them again)."""
        changed, self.changed = self.changed, False
        overdue: dict[tuple[str | None, bool], str] = {}  # once per agency and covert view
        counts = frame("counts", "{}")
        for client in self.clients:
            user = client.user
            if user.sees_plates:
                view = (user.agency, user.sees_covert)
                if view not in overdue:
                    overdue[view] = compact(self.state.overdue(*view))
                if overdue[view] != client.overdue:
                    client.overdue = overdue[view]
                    client.send(frame("overdue", overdue[view]))
            if changed:
                client.send(counts)


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def create_app(settings: Settings, feed: ConsoleFeed, out: ConsoleOut) -> Starlette:
    """The console for these settings, fed by `feed` (started when the app starts serving)."""
    sessions = Sessions(settings.console.users)
    no_login = settings.console_auth == "none"
    hub = Hub(settings, out)
    sites = site_coordinates(settings.console.sites)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()

        def deliver(records: list[FeedRecord]) -> None:  # from the feed's thread
            loop.call_soon_threadsafe(hub.take, records)

        feed.deliver = deliver
        feed.start()

        async def ticking() -> None:
            while True:
                await asyncio.sleep(TICK_S)
                hub.tick()

        ticker = asyncio.create_task(ticking())
        try:
            yield
        finally:
            ticker.cancel()
            feed.stop()
            out.close()

    def user_of(request: Request) -> User | None:
        return NOBODY if no_login else sessions.user(request.cookies.get(COOKIE))

    def page(name: str, plates: bool = False) -> Any:
        async def serve(request: Request) -> Response:
            user = user_of(request)
            if user is None:
                return RedirectResponse("/login", 303)
            if plates and not user.sees_plates:
                return RedirectResponse("/shared", 303)
            return FileResponse(STATIC / name, headers={"Cache-Control": "no-store"})

        return serve

    async def login_page(request: Request) -> Response:
        return FileResponse(STATIC / "login.html")

    async def login(request: Request) -> Response:
        try:
            body = await request.json()
            name, password = body["name"], body["password"]
            if not (isinstance(name, str) and isinstance(password, str)) or len(name) > 64 or len(password) > 1024:
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "give name and password"}, 400)
        token = await run_in_threadpool(sessions.login, name, password)  # Argon2 takes tens of ms
        if token is None:
            return JSONResponse({"error": "wrong name or password"}, 401)
        user = sessions.user(token)
        resp = JSONResponse({"name": name, "role": user.role if user else None})
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=12 * 3600)
        return resp

    async def logout(request: Request) -> Response:
        sessions.logout(request.cookies.get(COOKIE))
        resp = JSONResponse({})
        resp.delete_cookie(COOKIE)
        return resp

    def authorized(request: Request, plates: bool = False) -> User | Response:
        user = user_of(request)
        if user is None:
            return JSONResponse({"error": "log in first"}, 401)
        if plates and not user.sees_plates:
            return JSONResponse({"error": "analysts see the shared view only"}, 403)
        return user

    async def me(request: Request) -> Response:
        user = authorized(request)
        if isinstance(user, Response):
            return user
        return JSONResponse(
            {"name": user.name, "role": user.role, "agency": user.agency, "no_login": no_login,
             "sees_plates": user.sees_plates, "sees_covert": user.sees_covert}
        )  # fmt: skip

    async def cards(request: Request) -> Response:
        user = authorized(request, plates=True)
        if isinstance(user, Response):
            return user
        shown = hub.state.newest_cards(settings.console.cards_shown, user.sees_covert)
        hub.audit(user, [c for c in shown if c.covert], "page")
        verdicts = hub.state.verdicts
        return JSONResponse(
            {"cards": [c.view(verdicts) for c in shown],
             "overdue": hub.state.overdue(user.agency, user.sees_covert)}
        )  # fmt: skip

    async def events(request: Request) -> Response:
        user = authorized(request)
        if isinstance(user, Response):
            return user
        client = Client(user)
        hub.clients.add(client)

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield frame("hello", "{}")
                while True:
                    event = await client.queue.get()
                    yield event
                    if event is RELOAD:
                        return
            finally:
                hub.clients.discard(client)

        return EventSourceResponse(stream(), ping=15)

    async def feedback(request: Request) -> Response:
        user = authorized(request, plates=True)
        if isinstance(user, Response):
            return user
        try:
            body = await request.json()
            aid = body["alert_id"]
            ref = hub.state.refs.get(aid) if isinstance(aid, str) else None
            if ref is None or (ref.covert and not user.sees_covert):
                return JSONResponse({"error": "no such alert"}, 404)
            verdict = AlertFeedback(
                alert_id=aid, outcome=Outcome(body["outcome"]),
                reason=None if body.get("reason") is None else FalseHitReason(body["reason"]),
                note=body.get("note"), by=user.name, by_role=user.role, at_ms=int(time.time() * 1000),
                list_name=ref.list_name, match_kind=ref.match_kind,
            )  # fmt: skip
        except (ValueError, KeyError, TypeError, ValidationError) as e:
            return JSONResponse({"error": f"not a verdict: {str(e).splitlines()[0]}"}, 400)
        await run_in_threadpool(out.verdict, verdict)
        return JSONResponse({"recorded": aid}, 202)

    def period(request: Request) -> tuple[str | None, str | None]:
        q = request.query_params
        return q.get("from") or None, q.get("to") or None

    async def shared(request: Request) -> Response:
        user = authorized(request)
        if isinstance(user, Response):
            return user
        return JSONResponse({**hub.state.shared(*period(request)), "days": hub.state.days()})

    async def shared_csv(request: Request) -> Response:
        user = authorized(request)
        if isinstance(user, Response):
            return user
        view = hub.state.shared(*period(request))
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["dimension", "key", "hits", "cross_border"])
        for dim in ("day", "site", "list", "category", "hour", "flow"):
            for row in view[f"per_{dim}"]:
                w.writerow([dim, row["key"], row["hits"], row["cross_border"]])
        name = f"anpr-shared-{view['first_day'] or 'start'}-{view['last_day'] or 'now'}.csv"
        return PlainTextResponse(
            buf.getvalue(), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )

    async def map_data(request: Request) -> Response:
        return JSONResponse({"sites": sites, "borders": [BORDER_BE_NL, BORDER_NL_DE]})

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        if feed.failed is not None:
            return PlainTextResponse(f"feed stopped: {feed.failed}", 503)
        if not feed.caught_up.is_set():
            return PlainTextResponse("reading the topics from their beginning", 503)
        return PlainTextResponse(f"ready; {feed.skipped} records that are no alert or verdict skipped")

    routes = [
        Route("/", page("alerts.html", plates=True)),
        Route("/shared", page("shared.html")),
        Route("/login", login_page),
        Route("/api/login", login, methods=["POST"]),
        Route("/api/logout", logout, methods=["POST"]),
        Route("/api/me", me),
        Route("/api/cards", cards),
        Route("/api/events", events),
        Route("/api/feedback", feedback, methods=["POST"]),
        Route("/api/shared", shared),
        Route("/api/shared.csv", shared_csv),
        Route("/api/map", map_data),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def connected_app(settings: Settings) -> Starlette:
    """The console with its Kafka clients (topics created if missing); raises KafkaException when
    the cluster cannot be reached or refuses."""
    from anpr_engine.io.admin import console_topics, ensure_topics

    ensure_topics(settings, only=console_topics(settings))
    return create_app(settings, ConsoleFeed(settings, lambda records: None), ConsoleOut(settings))


def serve(settings: Settings, port: int | None = None, host: str | None = None) -> None:
    """Serve the console until SIGINT/SIGTERM."""
    import uvicorn

    c = settings.console
    app = connected_app(settings)
    uvicorn.run(app, host=host or c.host, port=c.port if port is None else port, log_level="warning")
