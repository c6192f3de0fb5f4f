"""Inbound adapters: pure functions from a platform request to our own events (no I/O)."""
