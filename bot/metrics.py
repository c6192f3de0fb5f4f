"""Prometheus metrics, one registry per running bot (so tests can run several)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector


class _Live(Collector):
    """Counters owned by the workers, read at scrape time."""

    def __init__(self, read: Callable[[], dict[str, float]]) -> None:
        self.read = read

    def collect(self) -> Iterator[CounterMetricFamily]:
        for name, value in self.read().items():
            yield CounterMetricFamily(f"groupbot_{name}", name.replace("_", " "), value=value)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "groupbot_requests_total",
            "Inbound webhook requests by route and answer",
            ["route", "status"],
            registry=self.registry,
        )
        self.events = Counter(
            "groupbot_events_total",
            "Events stored by platform, new or duplicate",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "groupbot_ack_seconds",
            "Time from request to acknowledgement",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )

    def watch(self, read: Callable[[], dict[str, float]]) -> None:
        """Expose worker counters (events processed/failed, messages sent/dead)."""
        self.registry.register(_Live(read))

    def render(self) -> bytes:
        return generate_latest(self.registry)
