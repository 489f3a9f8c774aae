"""Prometheus metrics shared by every service (DESIGN.md §10).

Metric objects are process-wide (that is how a Prometheus registry works); every series carries the
`service` label so that one process hosting several apps in tests still reports them apart.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# RED per HTTP route and gRPC method.
http_requests = Counter(
    "marque_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
http_latency = Histogram(
    "marque_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
grpc_requests = Counter(
    "marque_grpc_requests_total", "gRPC calls served", ["service", "method", "code"]
)
grpc_latency = Histogram(
    "marque_grpc_request_seconds",
    "gRPC call latency",
    ["service", "method"],
    buckets=LATENCY_BUCKETS,
)

# Messaging.
events_published = Counter(
    "marque_events_published_total", "Events published by the outbox relay", ["service", "type"]
)
events_consumed = Counter(
    "marque_events_consumed_total",
    "Events handled (outcome: processed, duplicate)",
    ["service", "consumer", "type", "outcome"],
)
events_retried = Counter(
    "marque_events_retried_total", "Events sent to a delayed retry", ["service", "consumer", "type"]
)
events_parked = Counter(
    "marque_events_parked_total", "Events parked", ["service", "consumer", "reason"]
)
parked_messages = Gauge(
    "marque_parked_messages", "Messages waiting in a parked queue", ["service", "queue"]
)
outbox_lag = Gauge("marque_outbox_lag_seconds", "Age of the oldest unsent outbox row", ["service"])
outbox_pending = Gauge("marque_outbox_pending", "Unsent outbox rows", ["service"])
relay_errors = Counter("marque_outbox_relay_errors_total", "Relay publish failures", ["service"])
impossible_transitions = Counter(
    "marque_impossible_transitions_total",
    "State-machine moves refused (out-of-order or invalid events and commands)",
    ["service", "aggregate", "event"],
)

# Business counters: one family, labelled by what happened.
business_events = Counter(
    "marque_business_events_total",
    "Business counters (leads created, vehicles reserved, ...)",
    ["service", "what"],
)
