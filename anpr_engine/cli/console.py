"""`anpr-console`: the operators' web console (live alerts, verdicts, the shared view), a password
hasher for its users, and the false-hit report computed from the feedback topic."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated

import typer

from anpr_engine.cli.common import (
    AlertsTopic,
    AuditTopic,
    Bootstrap,
    ConfigFile,
    CovertAlertsTopic,
    FeedbackTopic,
    configure_logging,
    settings_from,
)  # fmt: skip
from anpr_engine.cli.errors import App
from anpr_engine.errors import ConfigError

app = App(help="The operator console.", invoke_without_command=True, no_args_is_help=False)


@app.callback()
def serve(
    ctx: typer.Context,
    port: Annotated[int | None, typer.Option(help="HTTP port [console.port, 8080].")] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on [console.host, 127.0.0.1].")] = None,
    bootstrap: Bootstrap = None,
    alerts_topic: AlertsTopic = None,
    covert_alerts_topic: CovertAlertsTopic = None,
    feedback_topic: FeedbackTopic = None,
    audit_topic: AuditTopic = None,
    config: ConfigFile = None,
) -> None:
    """Serve the console (when no command is given) until SIGINT/SIGTERM; its own topics are created
    if missing (none at the joint centre, and never one MirrorMaker copies here). No broker
    answering, or a Kafka error it cannot get past, exits 1 with one line."""
    if ctx.invoked_subcommand is not None:
        return
    from anpr_engine.console.app import serve as serve_console
    from anpr_engine.io.admin import ensure_topics
    from anpr_engine.io.console_feed import created_topics

    settings = settings_from(
        bootstrap, alerts=alerts_topic, alerts_covert=covert_alerts_topic, feedback=feedback_topic, audit=audit_topic
    )
    if settings.console_auth == "password" and not settings.console.users:
        raise ConfigError(
            "console: no users configured (console.users) and ANPR_CONSOLE_AUTH is not none: nobody could log in"
        )
    configure_logging(settings)
    ensure_topics(settings, only=created_topics(settings))  # the cluster answers: only then the address is shown
    c, f = settings.console, settings.federation
    shown_host = host or c.host
    place = (
        ""
        if f.party is None
        else f"  (joint centre {f.party}, read-only)"
        if f.role == "centre"
        else f"  (party {f.party})"
    )
    typer.echo(
        f"console: http://{shown_host}:{c.port if port is None else port}/{place}"
        + ("  (login disabled: ANPR_CONSOLE_AUTH=none, local demo only)" if settings.console_auth == "none" else ""),
        err=True,
    )
    serve_console(settings, port, host)


@app.command("hash-password")
def hash_password_command() -> None:
    """Print the Argon2 hash of a password (asked for, or one line on standard input) for console.users."""
    from anpr_engine.console.access import hash_password

    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if not password:
        raise ConfigError("an empty password")
    typer.echo(hash_password(password))


@app.command()
def report(
    bootstrap: Bootstrap = None,
    feedback_topic: FeedbackTopic = None,
    as_json: Annotated[bool, typer.Option("--json", help="The rows as JSON.")] = False,
    config: ConfigFile = None,
) -> None:
    """False-hit rates per list and match kind, from every verdict on the feedback topic (the last
    verdict on each alert counts; the console's topics are created if missing). At the joint centre:
    per party, from each partner's feedback topic as MirrorMaker copies it there."""
    from pydantic import ValidationError

    from anpr_engine.config import replica
    from anpr_engine.console.shared import NO_PARTY, verdict_rates
    from anpr_engine.io.admin import connect, ensure_topics
    from anpr_engine.io.console_feed import created_topics, read_only
    from anpr_engine.io.topic_readers import read_topic_to_end
    from anpr_engine.models import AlertFeedback

    settings = settings_from(bootstrap, feedback=feedback_topic)
    f = settings.federation
    if read_only(settings):
        present = connect(settings)[1].topics
        sources = [(p, replica(p, settings.topics.feedback)) for p in f.partners]
        for p, topic in sources:
            if topic not in present:
                typer.echo(f"report: {topic} is not on the cluster yet: no verdicts of {p}", err=True)
        sources = [(p, topic) for p, topic in sources if topic in present]
    else:
        ensure_topics(settings, only=created_topics(settings))
        sources = [(f.party or NO_PARTY, settings.topics.feedback)]
    last: dict[tuple[str, bytes], AlertFeedback | None] = {}
    skipped = 0
    for party, topic in sources:
        for key, value in read_topic_to_end(settings, topic):
            if key is None:
                skipped += 1
                continue
            try:
                last[party, key] = None if value is None else AlertFeedback.model_validate_json(value)
            except ValidationError:
                skipped += 1
    rows = verdict_rates((party, v) for (party, _), v in last.items() if v is not None)
    if as_json:
        typer.echo(json.dumps(rows))
    else:
        typer.echo(
            f"{'party':<6} {'list':<18} {'match kind':<16} {'verdicts':>8} {'confirmed':>9} {'false':>6} {'none':>5} "
            f"{'false %':>8}"
        )
        for r in rows:
            typer.echo(
                f"{r['party']:<6} {r['list_name']:<18} {r['match_kind']:<16} {r['verdicts']:>8} {r['confirmed']:>9} "
                f"{r['false_hit']:>6} {r['no_action']:>5} {100 * r['false_hit_rate']:>7.1f}%"
            )
    if skipped:
        typer.echo(f"report: {skipped} records that are no verdict were skipped", err=True)
