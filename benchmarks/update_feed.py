"""A stream of watchlist upserts at a steady rate, in a process of its own (as an agency's system
would publish them): `python -m benchmarks.update_feed BOOTSTRAP TOPIC RATE SECONDS`."""

from __future__ import annotations

import json
import sys
import time

from confluent_kafka import Producer


def main() -> None:
    bootstrap, topic, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1, "acks": "all"})
    start = time.perf_counter()
    sent = 0
    while (now := time.perf_counter() - start) < seconds:
        due = int(now * rate)
        while sent < due:
            entry_id = f"live-{sent}"
            entry = {
                "entry_id": entry_id, "plate": f"QX{sent:07d}", "plate_country": None, "list_name": "live",
                "agency": "bench", "agency_country": "NL", "category": "stolen_vehicle", "priority": 10,
                "action": "stop_and_check", "valid_from_ms": None, "valid_until_ms": None, "note": None,
            }  # fmt: skip
            producer.produce(topic, json.dumps(entry).encode(), entry_id.encode())
            sent += 1
        producer.poll(0.002)
    producer.flush(30)


if __name__ == "__main__":
    main()
