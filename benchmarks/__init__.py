"""Benchmarks: matcher core, pipeline through the broker, latency; each against a baseline in the same run."""
