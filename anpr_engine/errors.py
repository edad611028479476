"""Every error the package raises on purpose, under one root.

    AnprError
    ├── ConfigError          settings, a config file or options that cannot be used (exit 2)
    ├── BadInput             input refused with a reason: a file, a plate, a list record (exit 1)
    ├── BrokerError          the Kafka cluster did not do what was asked (exit 1)
    │   ├── BrokerUnreachable    no broker answered in time
    │   ├── AccessRefused        the cluster refused the credentials or an operation (ACLs)
    │   ├── DeliveryFailed       a record was not acknowledged
    │   │   └── FatalDeliveryError   the producer can send nothing more (fenced, fatal error)
    │   └── TransactionAborted   a transaction was aborted; its batch is read again
    ├── StopRequested        a stop was asked for while waiting on the broker
    └── InvariantBroken      an internal invariant does not hold (a bug, never the input's fault)

`io/` converts librdkafka's `KafkaException` into `BrokerError` at its boundary
(`io.kafka_errors.broker_error`); the console scripts map the tree to one line on stderr and an
exit code (`cli/errors.py`). ConfigError and BadInput are also ValueErrors, so pydantic validators
and callers expecting ValueError still work.
"""

from __future__ import annotations

from collections.abc import Sequence


class AnprError(Exception):
    """The root: anything the package raises on purpose."""


class ConfigError(AnprError, ValueError):
    """Settings, a config file or command-line options that cannot be used."""


class BadInput(AnprError, ValueError):
    """Input refused with a reason the user can act on (a file, a plate, a record)."""


class BrokerError(AnprError):
    """The Kafka cluster did not do what was asked."""


class BrokerUnreachable(BrokerError):
    """No broker answered within the timeout."""


class AccessRefused(BrokerError):
    """The cluster refused this client's credentials or TLS handshake, or its authorizer refused an
    operation (a missing ACL)."""


class DeliveryFailed(BrokerError):
    """A record was not acknowledged by the broker; the batch must not be committed. `errors` holds
    the client's delivery errors (librdkafka's KafkaError), where there were any."""

    def __init__(self, message: str, errors: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


class FatalDeliveryError(DeliveryFailed):
    """The producer can send nothing more (fenced by a newer instance, or a fatal client error)."""


class TransactionAborted(BrokerError):
    """A transaction was aborted: nothing of it is visible, and its batch is read again."""


class StopRequested(AnprError):
    """A stop (SIGINT/SIGTERM) was asked for while the process waited on the broker: the wait is given
    up, nothing more is committed, and what was not settled is read again at the next start."""


class InvariantBroken(AnprError):
    """An internal invariant does not hold: a bug, never the input's fault."""
