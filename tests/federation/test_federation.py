"""The local federation (`make test-federation`: kafka/kafka.sh up --federation, docs/federation.md):
three single-node clusters nl, be and jc, and one MirrorMaker 2 per receiving cluster.

- what a party exports to a partner, and what it sends the joint centre, arrives there under the
  replicated name with its key and value, tombstones too, and a compacted export stays compacted;
- what is not exported (a read, a watchlist record, a covert alert; a partner's hits at the centre,
  alerts at a partner) is in no topic of the clusters it must not reach;
- records produced while a mirror is stopped (SIGTERM) or killed (SIGKILL) arrive once it is started
  again, each exactly once;
- records of a transaction aborted on the source never reach the target;
- the time from produce on the source to visible on the target (FIGURES).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from tests.helpers.federation import BOOT, QUIET, Record, Tail, ensure_topic, has, mirror, produce

pytestmark = pytest.mark.federation

LINKS = [  # (source, target, topic): every kind of link of kafka/federation.conf
    ("nl", "be", "anpr.export.be"),
    ("be", "nl", "anpr.export.nl"),
    ("nl", "be", "anpr.hits.be"),
    ("be", "nl", "anpr.hits.covert.nl"),
    ("nl", "jc", "anpr.alerts"),
    ("be", "jc", "anpr.alerts.feedback"),
]


@pytest.mark.parametrize(("source", "target", "topic"), LINKS, ids=[f"{s}-{t}-{x}" for s, t, x in LINKS])
def test_an_exported_record_and_its_tombstone_cross(source: str, target: str, topic: str) -> None:
    key, value = f"k-{uuid.uuid4().hex}".encode(), f'{{"id": "{uuid.uuid4().hex}"}}'.encode()
    produce(source, topic, [(key, value)])
    replica = Tail(target, f"{source}.{topic}")
    try:
        replica.until(has(key, value), "the record")
        produce(source, topic, [(key, None)])
        replica.until(has(key, None), "the tombstone")
    finally:
        replica.close()
    # the replica keeps its source's cleanup policy: a compacted export stays compacted
    policies = []
    for cluster, name in ((source, topic), (target, f"{source}.{topic}")):
        resource = ConfigResource(ConfigResource.Type.TOPIC, name)
        admin = AdminClient({"bootstrap.servers": BOOT[cluster], **QUIET})  # kept: a future outliving its client fails
        configs = admin.describe_configs([resource])[resource].result(30)
        policies.append(configs["cleanup.policy"].value)
    assert policies[1] == policies[0]
    if topic.startswith("anpr.export.") or topic == "anpr.alerts.feedback":
        assert policies[1] == "compact"


def test_what_is_not_exported_never_crosses() -> None:
    """Records of every kind on nl (and a read on be): each is found where the federation sends it and
    in no topic of any other cluster, internal topics included, read_uncommitted."""
    run = uuid.uuid4().hex
    placed = {  # (cluster, topic) -> the clusters where its record may be found besides its own
        ("nl", "anpr.reads"): set(),
        ("nl", "anpr.watchlist"): set(),
        ("nl", "anpr.alerts.covert"): set(),
        ("be", "anpr.reads"): set(),
        ("nl", "anpr.hits.covert.be"): {"be"},
        ("nl", "anpr.export.be"): {"be"},
        ("nl", "anpr.alerts"): {"jc"},
    }
    created = time.monotonic()
    for cluster, topic in placed:
        ensure_topic(cluster, topic)
    ids = {place: f"{run}-{place[0]}-{place[1]}".encode() for place in placed}
    for (cluster, topic), rid in ids.items():
        produce(cluster, topic, [(rid, b'{"id": "' + rid + b'"}')])
    # MirrorMaker looks for new topics every 5 s (refresh.topics.interval.seconds): a topic it were
    # to copy by mistake would have been found and copied by now, and the ones it copies have crossed
    for (cluster, topic), where in placed.items():
        for target in where:
            replica = Tail(target, f"{cluster}.{topic}")
            replica.until(lambda records, rid=ids[(cluster, topic)]: any(k == rid for k, _, _ in records), "record")
            replica.close()
    time.sleep(max(0.0, created + 15 - time.monotonic()))
    marker = f"{run}-marker".encode()
    produce("nl", "anpr.export.be", [(marker, b"{}")])
    produce("nl", "anpr.alerts", [(marker, b"{}")])
    for target, topic in (("be", "nl.anpr.export.be"), ("jc", "nl.anpr.alerts")):
        replica = Tail(target, topic)
        replica.until(has(marker, b"{}"), "the marker")
        replica.close()

    found: dict[bytes, set[str]] = {rid: set() for rid in ids.values()}
    scanned = Counter[str]()
    for target in ("nl", "be", "jc"):
        topics = AdminClient({"bootstrap.servers": BOOT[target], **QUIET}).list_topics(timeout=30).topics
        for topic in sorted(topics):
            tail = Tail(target, topic, committed=False)
            for key, value, headers in tail.to_end():
                scanned[target] += 1
                blob = b"|".join([key or b"", value or b"", *(v for _, v in headers)])
                for rid in found:
                    if rid in blob:
                        found[rid].add(f"{target}/{topic}")
            tail.close()
    print(f"\nFIGURES federation isolation: records scanned {dict(scanned)}")
    for (cluster, _topic), rid in ids.items():
        clusters = {place.split("/")[0] for place in found[rid]} - {cluster}
        assert clusters == placed[(cluster, _topic)], f"{cluster}/{_topic}: found in {sorted(found[rid])}"
    replicas = {  # and each cluster holds the replicas of its links, no other (MirrorMaker's own topics apart)
        "nl": {"be.anpr.export.nl", "be.anpr.hits.nl", "be.anpr.hits.covert.nl"},
        "be": {"nl.anpr.export.be", "nl.anpr.hits.be", "nl.anpr.hits.covert.be"},
        "jc": {"nl.anpr.alerts", "nl.anpr.alerts.feedback", "be.anpr.alerts", "be.anpr.alerts.feedback"},
    }
    for target, expected in replicas.items():
        names = AdminClient({"bootstrap.servers": BOOT[target], **QUIET}).list_topics(timeout=30).topics
        got = {n for n in names if n.split(".")[0] in BOOT and not n.endswith(".internal")}
        assert got == expected, f"{target}: {sorted(names)}"


@pytest.mark.parametrize("action", ["stop-mirror", "kill-mirror"])
def test_records_produced_while_the_mirror_is_down_arrive_once(action: str) -> None:
    """nl produces to anpr.export.be all along, 50 records a second, before, while and after the mirror
    into be is down: each arrives on be once (exactly-once source support)."""
    run = uuid.uuid4().hex
    sent: list[tuple[bytes, bytes]] = []
    stop = threading.Event()

    def produce() -> None:
        producer = Producer({"bootstrap.servers": BOOT["nl"], "enable.idempotence": True, "linger.ms": 5, **QUIET})
        i = 0
        while not stop.is_set():
            key, value = f"{run}-{i % 40}".encode(), f'{{"n": {i}}}'.encode()  # keys repeat: a compacted topic
            producer.produce("anpr.export.be", key=key, value=value)
            sent.append((key, value))
            producer.poll(0)
            i += 1
            time.sleep(0.02)
        assert producer.flush(30) == 0

    def mine(records: list[Record]) -> list[tuple[bytes, bytes | None]]:
        return [(k, v) for k, v, _ in records if k is not None and k.startswith(run.encode())]

    replica = Tail("be", "nl.anpr.export.be", from_end=True)
    producer = threading.Thread(target=produce)
    producer.start()
    try:
        replica.until(lambda records: len(mine(records)) >= 50, "records before the cut")
        down_s = mirror(action, "be")
        at_cut = len(mine(replica.to_end()))
        time.sleep(3)
        during = len(mine(replica.to_end())) - at_cut
        up_s = mirror("start-mirror", "be")
        time.sleep(2)
    finally:
        stop.set()
        producer.join()
    try:
        replica.until(lambda records: Counter(mine(records)) >= Counter(sent), "every record")
        time.sleep(2)  # anything duplicated would come right after
        replica.poll(0.5)
    finally:
        replica.close()
    got = Counter(mine(replica.records))
    duplicated = sum(n - 1 for n in got.values() if n > 1)
    missing = len(set(sent) - set(got))
    print(f"\nFIGURES federation {action} be: sent={len(sent)} received={sum(got.values())} missing={missing} "
          f"duplicated={duplicated} copied_while_down={during} "
          f"{action}={down_s:.1f}s start-mirror={up_s:.1f}s")  # fmt: skip
    assert during == 0
    assert missing == 0
    assert duplicated == 0
    assert len(set(sent)) == len(sent)


def test_an_aborted_transaction_never_crosses() -> None:
    run = uuid.uuid4().hex
    producer = Producer({"bootstrap.servers": BOOT["nl"], "transactional.id": f"test-federation-{run}", **QUIET})
    producer.init_transactions(30)
    aborted, committed = f"{run}-aborted".encode(), f"{run}-committed".encode()
    for key in (aborted, committed):
        producer.begin_transaction()
        for topic in ("anpr.export.be", "anpr.alerts"):
            producer.produce(topic, key=key, value=b'{"n": 1}')
        producer.flush(30)
        if key == aborted:
            producer.abort_transaction(30)
        else:
            producer.commit_transaction(30)
    for target, topic in (("be", "nl.anpr.export.be"), ("jc", "nl.anpr.alerts")):
        replica = Tail(target, topic, committed=False)  # what the mirror wrote at all, committed or not
        replica.until(has(committed, b'{"n": 1}'), "the committed record")
        keys = Counter(k for k, _, _ in replica.to_end())
        replica.close()
        assert keys[committed] == 1
        assert keys[aborted] == 0


LATENCY_LINKS = [("nl", "be", "anpr.export.be"), ("be", "jc", "anpr.alerts")]


@pytest.mark.parametrize(("source", "target", "topic"), LATENCY_LINKS, ids=[f"{s}-{t}" for s, t, _ in LATENCY_LINKS])
def test_latency_from_produce_to_visible_on_the_target(source: str, target: str, topic: str) -> None:
    """50 records one after the other: the seconds from produce() on the source to the record read
    (read_committed) from the replica on the target."""
    replica = Tail(target, f"{source}.{topic}", from_end=True)
    replica.to_end()
    producer = Producer({"bootstrap.servers": BOOT[source], "enable.idempotence": True, "linger.ms": 0, **QUIET})
    producer.produce(topic, key=b"latency-warm-up", value=b"{}")  # the producer's connection and id first
    assert producer.flush(30) == 0
    seconds = []
    try:
        for i in range(50):
            key = f"latency-{uuid.uuid4().hex}".encode()
            t0 = time.monotonic()
            producer.produce(topic, key=key, value=f'{{"n": {i}}}'.encode())
            producer.poll(0)
            replica.until(lambda records, key=key: any(k == key for k, _, _ in records[-50:]), "the record", 30)
            seconds.append(time.monotonic() - t0)
        producer.flush(30)
    finally:
        replica.close()
    seconds.sort()
    p99 = seconds[min(len(seconds) - 1, int(0.99 * len(seconds)))]
    print(f"\nFIGURES federation latency {source}->{target} {topic}: n={len(seconds)} "
          f"p50={statistics.median(seconds):.3f}s p99={p99:.3f}s max={seconds[-1]:.3f}s")  # fmt: skip
    assert statistics.median(seconds) < 5


def test_entries_released_in_nl_reach_be_and_withheld_ones_are_deleted_there() -> None:
    """The project's own tools end to end: a list and entries published on nl, some released to be,
    `anpr-watchlist export` on nl, and MirrorMaker carries exactly those to be; a withheld entry's
    tombstone crosses too. FIGURES: from the export's start until be holds the entry."""
    run = uuid.uuid4().hex[:8]
    env = {**os.environ, "ANPR_KAFKA_BOOTSTRAP": BOOT["nl"], "ANPR_FEDERATION__PARTNERS": '["be"]',
           "ANPR_FLUSH_TIMEOUT_S": "30"}  # fmt: skip
    bin_dir = Path(sys.executable).parent

    def wl(*args: str) -> None:
        cmd = [str(bin_dir / "anpr-watchlist"), *args, "--watchlist-topic", f"t.{run}.watchlist"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, env=env)
        assert done.returncode == 0, done.stderr

    name = f"stolen-{run}"
    wl("set-list", name, "--agency", "Politie Limburg", "--agency-country", "NL", "--category", "stolen_vehicle")
    for plate in ("12-BD-34", "56-XY-78"):
        wl("add", "--plate", plate, "--list-name", name)
    wl("release", "--list-name", name, "--to", "be")
    wl("withhold", "--plate", "56-XY-78")
    released, withheld = f"NL-{name}-12BD34-ANY".encode(), f"NL-{name}-56XY78-ANY".encode()
    tail = Tail("be", "nl.anpr.export.be", from_end=True)
    try:
        t0 = time.monotonic()
        wl("export")
        tail.until(lambda rs: any(k == released for k, *_ in rs), "the released entry")
        crossed_s = time.monotonic() - t0
        tail.until(lambda rs: any(k == f"list|{name}".encode() for k, *_ in rs), "its list record")
        keys = [k for k, *_ in tail.to_end()]
        assert withheld not in keys and keys.index(f"list|{name}".encode()) < keys.index(released)
        wl("withhold", "--list-name", name)
        wl("export")
        tail.until(has(released, None), "the withheld entry's tombstone")
    finally:
        tail.close()
    print(f"\nFIGURES federation release nl->be: from the export's start to the entry on be {crossed_s:.2f}s")
