"""The ACLs a secured deployment asks for (io.admin.acl_grants), in a federation: each principal gets
the replicas and hits topics its role needs on its own cluster, and nothing of another party's."""

from __future__ import annotations

from anpr_engine.config import Federation, Settings
from anpr_engine.io.admin import acl_grants


def _topics(settings: Settings, principal: str, op: str) -> set[str]:
    return {name for kind, name, _, p, o in acl_grants(settings) if kind == "TOPIC" and p == principal and o == op}


def test_a_partys_engine_reads_the_partners_export_and_writes_the_hits_back() -> None:
    be = Settings(federation=Federation(party="be", partners=("nl",)))
    assert _topics(be, "User:engine", "READ") >= {"nl.anpr.export.be", "anpr.hits.covert.nl"}
    assert _topics(be, "User:engine", "WRITE") >= {"anpr.hits.nl", "anpr.hits.covert.nl"}
    assert "nl.anpr.hits.be" in _topics(be, "User:operator", "READ")
    assert "nl.anpr.hits.covert.be" in _topics(be, "User:privileged", "READ")
    assert "nl.anpr.hits.covert.be" not in _topics(be, "User:operator", "READ")
    outside = Settings()
    assert not {t for t in _topics(outside, "User:engine", "READ") if t.startswith(("nl.", "anpr.hits"))}


def test_the_centres_operators_read_each_partys_alerts_and_nothing_covert() -> None:
    jc = Settings(federation=Federation(party="jc", role="centre", partners=("nl", "be")))
    read = _topics(jc, "User:operator", "READ")
    assert read >= {"nl.anpr.alerts", "be.anpr.alerts"}
    assert not {t for t in read if "covert" in t or "hits" in t}
    assert _topics(jc, "User:console", "READ") >= {"nl.anpr.alerts.feedback", "be.anpr.alerts.feedback"}
    assert not {t for t in _topics(jc, "User:engine", "READ") if t.startswith(("nl.", "be."))}
