"""The Kafka error policy: which librdkafka errors are fatal, which mean a rebalance, a broker
out of reach or a leader moving, what a failed commit becomes, and what librdkafka's
KafkaException becomes where it leaves io/: the BrokerError of anpr_engine.errors that says what
happened (`broker_error`, `at_boundary`). Inside io/, code that retries catches KafkaException."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from anpr_engine.errors import AccessRefused, AnprError, BrokerError, BrokerUnreachable, ConfigError

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def broker_error(e: KafkaException | KafkaError, doing: str | None = None) -> AnprError:
    """librdkafka's error as the error of anpr_engine.errors it is: BrokerUnreachable when no broker
    answered in time, AccessRefused when the cluster refused the credentials or an operation,
    ConfigError when the client refused a property (the settings' pass-through ones: a client is
    made), BrokerError otherwise. The message keeps the error's name and text
    (`kafka: [doing: ]NAME: text`); raise it `from` the original, which stays the __cause__."""
    err = e.args[0] if isinstance(e, KafkaException) and e.args else e
    where = f"{doing}: " if doing else ""
    if not isinstance(err, KafkaError):
        return BrokerError(f"kafka: {where}{err}")
    code = err.code()
    kind: type[AnprError] = BrokerError
    if code in NO_ANSWER:
        kind = BrokerUnreachable
    elif code in REFUSED:
        kind = AccessRefused
    elif code == KafkaError._INVALID_ARG:
        kind = ConfigError
    return kind(f"kafka: {where}{err.name()}: {err.str()}")


def at_boundary(f: F) -> F:
    """`f` (a function, or a generator function) with librdkafka's KafkaException raised as the
    error it is (broker_error): for what io/ hands out to the engine and the console scripts."""
    if inspect.isgeneratorfunction(f):

        @functools.wraps(f)
        def generator(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                return (yield from f(*args, **kwargs))
            except KafkaException as e:
                raise broker_error(e) from e

        return cast(F, generator)

    @functools.wraps(f)
    def function(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except KafkaException as e:
            raise broker_error(e) from e

    return cast(F, function)


def commit_failure(err: KafkaError | None, partitions: list[TopicPartition]) -> AnprError | None:
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
            return broker_error(e, "commit")
    return None


def raise_if_fatal(err: KafkaError) -> None:
    """An error event among a fetch's messages: raise what the client cannot get past (e.g. not
    authorized to read the topic: said, not waited on for ever); the end of a partition and
    retriable errors are not."""
    if err.code() != KafkaError._PARTITION_EOF and (err.fatal() or not err.retriable()):
        raise broker_error(err)


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


# no broker answered in time (BrokerUnreachable)
NO_ANSWER = (
    KafkaError._TRANSPORT,
    KafkaError._TIMED_OUT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._RESOLVE,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NETWORK_EXCEPTION,
)


# the cluster refused the credentials, the TLS handshake or an operation (AccessRefused)
REFUSED = (
    KafkaError._AUTHENTICATION,
    KafkaError._SSL,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    KafkaError.DELEGATION_TOKEN_AUTHORIZATION_FAILED,
)


# a topic just created, not in the metadata of every broker yet: passes by itself (asked again for a while)
NOT_YET_THERE = (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.LEADER_NOT_AVAILABLE)


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
