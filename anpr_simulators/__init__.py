"""Simulated ANPR border cameras: plates, OCR noise, traffic, and the anpr-simulate command."""
