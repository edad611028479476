"""The Kafka error policy: which librdkafka errors are fatal, which mean a rebalance, a broker
out of reach or a leader moving, and what a failed commit becomes."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError, KafkaException, TopicPartition

log = logging.getLogger(__name__)


def commit_failure(err: KafkaError | None, partitions: list[TopicPartition]) -> KafkaException | None:
    """The error a commit answer holds, for the request or for any one partition; None when it
    succeeded or failed only because the group moved on (logged: re-delivery, not loss)."""
    errors = [err] if err is not None else []
    errors += [tp.error for tp in partitions if tp.error is not None]
    for e in errors:
        if moved_on(e):
            log.warning("commit skipped during a group rebalance: %s", e)
        elif e.code() in COORDINATOR_AWAY:
            log.warning("commit not answered, the group coordinator is away; the next one carries on: %s", e)
        else:
            return KafkaException(e)
    return None


def raise_if_fatal(err: KafkaError) -> None:
    """An error event among a fetch's messages: raise what the client cannot get past (e.g. not
    authorized to read the topic: said, not waited on for ever); the end of a partition and
    retriable errors are not."""
    if err.code() != KafkaError._PARTITION_EOF and (err.fatal() or not err.retriable()):
        raise KafkaException(err)


def any_error(errors: list[KafkaError | None]) -> bool:
    """Whether any message of a fetch carries an error. Not `errors.count(None)`: comparing a
    KafkaError with None raises inside list.count, which then fails with SystemError."""
    return any(e is not None for e in errors)


def moved_on(err: KafkaError) -> bool:
    """The group moved on (a rebalance): the partitions now belong to another member, which resumes
    from the last committed offset. Re-delivery, not loss: the alerts keep their ids."""
    return err.code() in REBALANCE_ERRORS


REBALANCE_ERRORS = (
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.FENCED_INSTANCE_ID,
    KafkaError._NO_OFFSET,
)


# the broker or coordinator asked cannot be reached, or is not the one to ask yet: passes by itself
UNREACHABLE = (
    KafkaError._TRANSPORT,
    KafkaError._TIMED_OUT,
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
)


# answers to a watermark or committed-offsets query (librdkafka does not flag them retriable) that pass by themselves
LEADER_MOVING = (
    *UNREACHABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError.REBALANCE_IN_PROGRESS,
)


# a commit that failed because the coordinator could not be reached: later commits move the positions
# on (at-least-once: at worst a few reads are read again after a restart)
COORDINATOR_AWAY = (*UNREACHABLE, KafkaError._WAIT_COORD, KafkaError.REQUEST_TIMED_OUT)
