"""Kafka I/O at the edge: the only package that imports confluent_kafka."""
