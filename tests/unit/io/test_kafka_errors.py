"""Error events among fetched messages are told apart."""

from __future__ import annotations

from confluent_kafka import KafkaError


def test_a_fetch_with_an_error_event_among_its_messages_is_told_apart() -> None:
    from anpr_engine.io.kafka_errors import any_error

    eof = KafkaError(KafkaError._PARTITION_EOF)
    assert any_error([None, eof]) and not any_error([None, None]) and not any_error([])
