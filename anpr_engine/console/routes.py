"""The console's endpoints and its route table (ROUTES): the pages, logging in and out, the alerts
API (cards, live events, verdicts: refused at the read-only joint centre), the shared view (counts,
CSV, map) and the health checks.

Each endpoint reads what it needs from `request.app.state`, set by `console.app.create_app`: `hub`
(console.hub.Hub), `settings`, `sessions` (console.access.Sessions), `out` (ConsoleOut), `feed`
(ConsoleFeed) and `sites` (the crossings' coordinates). What a user gets is cut to their role here.
"""

from __future__ import annotations

import csv
import functools
import io
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import ValidationError
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from anpr_engine.config import Settings
from anpr_engine.console.access import NOBODY, Sessions, User
from anpr_engine.console.hub import Hub
from anpr_engine.console.shared import SHARED_DIMENSIONS
from anpr_engine.console.sites import BORDER_BE_NL, BORDER_NL_DE
from anpr_engine.io.console_feed import ConsoleFeed, ConsoleOut, read_only
from anpr_engine.models import AlertFeedback, FalseHitReason, Outcome

STATIC = Path(__file__).parent / "static"
COOKIE = "anpr_session"


# --- who asks ------------------------------------------------------------------------------------


def no_login(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.console_auth == "none"


def user_of(request: Request) -> User | None:
    sessions: Sessions = request.app.state.sessions
    return NOBODY if no_login(request) else sessions.user(request.cookies.get(COOKIE))


def authorized(request: Request, plates: bool = False) -> User | Response:
    """The user of the request, or the 401 (not logged in) or 403 (plates asked by an analyst)."""
    user = user_of(request)
    if user is None:
        return JSONResponse({"error": "log in first"}, 401)
    if plates and not user.sees_plates:
        return JSONResponse({"error": "analysts see the shared view only"}, 403)
    return user


Endpoint = Callable[[Request], Awaitable[Response]]
UserEndpoint = Callable[[Request, User, Hub], Awaitable[Response]]


def signed_in(plates: bool = False) -> Callable[[UserEndpoint], Endpoint]:
    """An endpoint for a logged-in user (one who may see plates, where `plates`), given the user and
    the console's hub; anyone else gets `authorized`'s 401 or 403."""

    def wrap(f: UserEndpoint) -> Endpoint:
        @functools.wraps(f)
        async def endpoint(request: Request) -> Response:
            user = authorized(request, plates)
            if isinstance(user, Response):
                return user
            return await f(request, user, request.app.state.hub)

        return endpoint

    return wrap


def page(request: Request, name: str, plates: bool = False) -> Response:
    """The page `name` from static/, or a redirect to the login (or, for an analyst asking a page
    with plates, to the shared view)."""
    user = user_of(request)
    if user is None:
        return RedirectResponse("/login", 303)
    if plates and not user.sees_plates:
        return RedirectResponse("/shared", 303)
    return FileResponse(STATIC / name, headers={"Cache-Control": "no-store"})


def period(request: Request) -> tuple[str | None, str | None, str | None]:
    """The shared view's days (from, to) and party asked for (None: all)."""
    q = request.query_params
    return q.get("from") or None, q.get("to") or None, q.get("party") or None


def csv_response(rows: list[list[object]], name: str) -> Response:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return PlainTextResponse(
        buf.getvalue(), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


READ_ONLY = "the joint centre's console is read-only: verdicts are recorded on the parties' consoles"


# --- pages and logging in ------------------------------------------------------------------------


async def alerts_page(request: Request) -> Response:
    return page(request, "alerts.html", plates=True)


async def shared_page(request: Request) -> Response:
    return page(request, "shared.html")


async def login_page(request: Request) -> Response:
    return FileResponse(STATIC / "login.html")


async def login(request: Request) -> Response:
    sessions: Sessions = request.app.state.sessions
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
    sessions: Sessions = request.app.state.sessions
    sessions.logout(request.cookies.get(COOKIE))
    resp = JSONResponse({})
    resp.delete_cookie(COOKIE)
    return resp


@signed_in()
async def me(request: Request, user: User, hub: Hub) -> Response:
    settings: Settings = request.app.state.settings
    f = settings.federation
    federation = None if f.party is None else {"party": f.party, "role": f.role, "partners": list(f.partners)}
    return JSONResponse(
        {"name": user.name, "role": user.role, "agency": user.agency, "no_login": no_login(request),
         "sees_plates": user.sees_plates, "sees_covert": user.sees_covert, "federation": federation,
         "read_only": read_only(settings)}
    )  # fmt: skip


# --- the alerts ----------------------------------------------------------------------------------


@signed_in(plates=True)
async def cards(request: Request, user: User, hub: Hub) -> Response:
    settings: Settings = request.app.state.settings
    shown = hub.state.newest_cards(settings.console.cards_shown, user.sees_covert)
    hub.audit(user, [c for c in shown if c.covert], "page")
    verdicts = hub.state.verdicts
    return JSONResponse(
        {"cards": [c.view(verdicts) for c in shown],
         "overdue": hub.state.overdue(user.agency, user.sees_covert)}
    )  # fmt: skip


@signed_in()
async def events(request: Request, user: User, hub: Hub) -> Response:
    return EventSourceResponse(hub.join(user), ping=15)


@signed_in(plates=True)
async def feedback(request: Request, user: User, hub: Hub) -> Response:
    out: ConsoleOut = request.app.state.out
    if read_only(request.app.state.settings):
        return JSONResponse({"error": READ_ONLY}, 403)
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


# --- the shared view -----------------------------------------------------------------------------


@signed_in()
async def shared(request: Request, user: User, hub: Hub) -> Response:
    return JSONResponse({**hub.state.shared(*period(request)), "days": hub.state.days()})


@signed_in()
async def shared_csv(request: Request, user: User, hub: Hub) -> Response:
    """The shared view's tables, one row per dimension, party and key (dimension `all`: the party's totals)."""
    view = hub.state.shared(*period(request))
    rows: list[list[object]] = [["dimension", "party", "key", "hits", "cross_border"]]
    rows += [["all", r["key"], "", r["hits"], r["cross_border"]] for r in view["per_party"]]
    for dim in SHARED_DIMENSIONS:
        rows += [[dim, r["party"], r["key"], r["hits"], r["cross_border"]] for r in view[f"per_{dim}"]]
    return csv_response(rows, f"anpr-shared-{file_part(*period(request))}.csv")


@signed_in()
async def shared_hours_csv(request: Request, user: User, hub: Hub) -> Response:
    """Hits per party, crossing, list and hour."""
    rows: list[list[object]] = [["hour", "party", "crossing", "list", "hits", "cross_border"]]
    rows += [[r["hour"], r["party"], r["site"], r["list"], r["hits"], r["cross_border"]]
             for r in hub.state.hourly(*period(request))]  # fmt: skip
    return csv_response(rows, f"anpr-shared-hours-{file_part(*period(request))}.csv")


def file_part(first: str | None, last: str | None, party: str | None) -> str:
    """The period and party in a CSV's file name, with only characters safe in a header."""
    part = f"{first or 'start'}-{last or 'now'}" + (f"-{party}" if party else "")
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in part)


async def map_data(request: Request) -> Response:
    return JSONResponse({"sites": request.app.state.sites, "borders": [BORDER_BE_NL, BORDER_NL_DE]})


# --- health --------------------------------------------------------------------------------------


async def favicon(request: Request) -> Response:
    return Response(status_code=204)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    feed: ConsoleFeed = request.app.state.feed
    if feed.failed is not None:
        return PlainTextResponse(f"feed stopped: {feed.failed}", 503)
    if not feed.caught_up.is_set():
        return PlainTextResponse("reading the topics from their beginning", 503)
    waiting = f"; not on the cluster yet, followed once there: {', '.join(feed.missing)}" if feed.missing else ""
    return PlainTextResponse(f"ready; {feed.skipped} records that are no alert or verdict skipped{waiting}")


ROUTES: list[BaseRoute] = [
    Route("/", alerts_page),
    Route("/shared", shared_page),
    Route("/login", login_page),
    Route("/api/login", login, methods=["POST"]),
    Route("/api/logout", logout, methods=["POST"]),
    Route("/api/me", me),
    Route("/api/cards", cards),
    Route("/api/events", events),
    Route("/api/feedback", feedback, methods=["POST"]),
    Route("/api/shared", shared),
    Route("/api/shared.csv", shared_csv),
    Route("/api/shared-hours.csv", shared_hours_csv),
    Route("/api/map", map_data),
    Route("/favicon.ico", favicon),
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]
