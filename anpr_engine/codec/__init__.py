"""Decoding and encoding: the numba JSON parser and writer, column checks, reads, entries, alerts."""
