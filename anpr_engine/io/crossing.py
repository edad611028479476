"""Reads that crossed, counted on the clusters themselves (federation.crossing is the search): a
party's reads and the reads that hit, from its own cluster; then every record of the other clusters,
searched for the reads that did not hit.

At home: the reads topic (read_uncommitted: a read in an aborted transaction was still written),
and the topics a hit leaves by, read_committed (only a hit that was produced excuses its read): the
alerts, the covert alerts and, for each partner of `federation.partners`, the hits on its entries
and on its covert entries. A missing alerts or hits topic holds no hit (the check gets only
stricter); a missing reads topic is an error, not zero reads.

Abroad: every topic the cluster lists when the scan starts, each partition from its beginning to its
end as it stands then, read_uncommitted (a record of an aborted or open transaction is on the
cluster all the same). That includes Kafka's internal topics (`__consumer_offsets`,
`__transaction_state`) and MirrorMaker's (`mm2-*.internal`, `heartbeats`, `*.checkpoints.internal`):
none holds a record of ours, but their records carry what clients choose (group ids, commit metadata,
transactional ids) and a topic could be mirrored into a name like theirs; a check of what must
never leave a country looks everywhere, not where a leak is expected, and these topics are small.
A cluster that refuses to let a topic be read fails the check (AccessRefused), never skips it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from typing import cast

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from confluent_kafka import Message as KafkaMessage

from anpr_engine.config import Settings
from anpr_engine.errors import BrokerError
from anpr_engine.federation.crossing import Crossing, Record, Search, alert_read_ids, read_ids
from anpr_engine.io.admin import connect
from anpr_engine.io.client_config import follower_conf
from anpr_engine.io.kafka_errors import at_boundary, broker_error
from anpr_engine.io.topic_readers import closed_on_error, content_type, watermarks

Batch = tuple[str, list[KafkaMessage]]  # a topic and messages of it


def hit_topics(settings: Settings) -> list[str]:
    """The topics of a party's own cluster a hit leaves by, each carrying its read."""
    t = settings.topics
    partners = settings.federation.partners
    return [t.alerts, t.alerts_covert, *(t.hits(p, covert) for p in partners for covert in (False, True))]


@at_boundary
def scan(settings: Settings, topics: Collection[str] | None = None, committed: bool = False) -> Iterator[Batch]:
    """Every message of `topics` (None: of every topic the cluster lists; a missing one is skipped)
    from the beginning to the end each partition has now, in batches of one topic. No group, no commit."""
    _, meta = connect(settings)
    names = sorted(meta.topics) if topics is None else [t for t in topics if t in meta.topics]
    conf = {**follower_conf(settings), "isolation.level": "read_committed" if committed else "read_uncommitted"}
    with closed_on_error(Consumer(conf)) as consumer:
        ends: dict[tuple[str, int], int] = {}
        for name in names:
            topic = meta.topics[name]
            if topic.error is not None:
                raise broker_error(topic.error, f"topic {name}")
            for p in topic.partitions:
                low, high = watermarks(consumer, TopicPartition(name, p), settings.flush_timeout_s)
                if high > low:
                    ends[(name, p)] = high
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in ends])
        yield from _to_end(consumer, ends, settings)
    consumer.close()


def _to_end(consumer: Consumer, ends: dict[tuple[str, int], int], settings: Settings) -> Iterator[Batch]:
    """Messages until each partition's position reaches its end or it reports its end (EOF: where a
    read_committed reader stops, at the last stable offset). Raises BrokerError when nothing moves
    for settings.flush_timeout_s."""
    left = dict(ends)
    moved = time.monotonic()
    while left:
        msgs = consumer.consume(10_000, 0.5)
        by_topic: dict[str, list[KafkaMessage]] = defaultdict(list)
        for m in msgs:
            err, topic = m.error(), m.topic() or ""
            if err is None:
                by_topic[topic].append(m)
            elif err.code() == KafkaError._PARTITION_EOF:
                left.pop((topic, m.partition() or 0), None)
            else:
                raise broker_error(err, f"topic {topic}")
        for tp in consumer.position([TopicPartition(t, p) for t, p in left]):
            if tp.offset >= left[(tp.topic, tp.partition)]:
                del left[(tp.topic, tp.partition)]
        yield from by_topic.items()
        if msgs:
            moved = time.monotonic()
        elif left and time.monotonic() - moved > settings.flush_timeout_s:
            (topic, p), *_ = sorted(left)
            raise BrokerError(
                f"kafka: {len(left)} partitions of {settings.bootstrap_servers} not read to their end within "
                f"{settings.flush_timeout_s:g} s (first: {topic} partition {p})"
            )


def records(messages: list[KafkaMessage]) -> list[Record]:
    """(key, value, headers) of each message (a consumed message's headers: a list of (str, bytes), or None)."""
    return cast("list[Record]", [(m.key(), m.value(), m.headers()) for m in messages])


def home_reads(settings: Settings) -> tuple[set[str], set[str]]:
    """The ids of the reads on a party's own cluster, and the read ids its hits carry."""
    _, meta = connect(settings)
    if settings.topics.reads not in meta.topics:
        raise BrokerError(f"kafka: no topic {settings.topics.reads} on {settings.bootstrap_servers}")
    reads: set[str] = set()
    for _, msgs in scan(settings, [settings.topics.reads]):
        types = [content_type(h or []) for h in map(KafkaMessage.headers, msgs)]
        reads |= read_ids(list(map(KafkaMessage.value, msgs)), types)
    hits: set[str] = set()
    for _, msgs in scan(settings, hit_topics(settings), committed=True):
        hits |= alert_read_ids(map(KafkaMessage.value, msgs))
    return reads, hits


def reads_crossed(home: Settings, abroad: Sequence[Settings]) -> Crossing:
    """The home party's reads, those that hit, and those that did not hit found on any `abroad`
    cluster (where: `<bootstrap servers>/<topic>` of the first place each was found)."""
    reads, hits = home_reads(home)
    search = Search(reads - hits)
    where: dict[str, str] = {}
    scanned = 0
    for cluster in abroad:
        for topic, msgs in scan(cluster):
            scanned += len(msgs)
            for rid in search.feed(records(msgs)):
                where[rid] = f"{cluster.bootstrap_servers}/{topic}"
    return Crossing(len(reads), len(reads & hits), frozenset(search.found), where=where, scanned=scanned)
