"""Prometheus instrumentation shared by every service, and the ASGI middleware that records requests.

Labels are bounded: routes are the matched route templates (`/api/price/{symbol:path}`), never raw paths;
unmatched requests share the label `unmatched`; NATS subjects are cut to their first two tokens.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests served", ["service", "route", "method", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["service", "route", "method"], buckets=LATENCY_BUCKETS
)
UPSTREAM_REQUESTS = Counter("upstream_requests_total", "Calls to upstream APIs by outcome", ["provider", "outcome"])
UPSTREAM_LATENCY = Histogram(
    "upstream_request_duration_seconds", "Upstream call latency", ["provider"], buckets=LATENCY_BUCKETS
)
UPSTREAM_CIRCUIT_OPEN = Gauge("upstream_circuit_open", "1 while an upstream's circuit breaker is open", ["provider"])
UPSTREAM_BUDGET_REMAINING = Gauge(
    "upstream_budget_remaining", "Units left in the upstream's current budget window", ["provider"]
)
PROVIDER_FALLBACKS = Counter(
    "provider_fallbacks_total", "Times a provider chain moved past a failing provider", ["kind", "provider", "reason"]
)
CACHE_REQUESTS = Counter("cache_requests_total", "Cache lookups by result", ["namespace", "kind", "result"])
CACHE_REFRESHES = Counter(
    "cache_refreshes_total", "Hot keys refreshed ahead of their expiry, in the background", ["namespace", "kind"]
)
RESPONSE_CACHE_ANSWERS = Counter(
    "response_cache_answers_total", "Answers sent as kept bytes (response_cache.py), without the route", ["service"]
)
NATS_MESSAGES = Counter(
    "nats_messages_total",
    "NATS messages by direction (out, in, request, reply, invalid)",
    ["service", "direction", "subject"],
)
NATS_CONSUMED = Counter(
    "nats_consumer_messages_total",
    "Messages of a durable JetStream consumer by outcome (handled, skipped, invalid, redelivered)",
    ["service", "consumer", "outcome"],
)
REDIS_AVAILABLE = Gauge(
    "redis_available",
    "1 while Redis answers, 0 while the service runs degraded (role: state or cache)",
    ["service", "role"],
)
GC_PAUSE = Histogram(
    "gc_pause_seconds",
    "Python garbage-collector pauses, by generation (see gcpolicy.py)",
    ["service", "generation"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
SERVICE_INFO = Gauge("service_info", "Static facts about the running service", ["service", "version", "data_source"])

# Live market ingest (one leader per feed across replicas).
# Model inference (the ai service): seconds of onnxruntime time per call, and rows per call.
MODEL_INFERENCE = Histogram(
    "model_inference_seconds",
    "ONNX Runtime time per inference call",
    ["model"],
    buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
)
MODEL_BATCH_ROWS = Histogram(
    "model_inference_batch_rows",
    "Rows (texts or forecast steps) per inference call",
    ["model"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)

INGEST_EVENTS = Counter("ingest_events_total", "Market events ingested, by event type and source", ["type", "source"])
INGEST_DROPPED = Counter("ingest_events_dropped_total", "Market events not delivered, by reason", ["reason"])
INGEST_RECONNECTS = Counter("ingest_reconnects_total", "Exchange WebSocket connections lost or refused", ["exchange"])
INGEST_LEADER = Gauge("ingest_leader", "1 while this replica holds the ingest lease", ["feed"])
INGEST_REST_FALLBACK = Gauge(
    "ingest_rest_fallback_active", "1 while REST polling stands in for the WebSocket", ["exchange"]
)


def subject_label(subject: str) -> str:
    return ".".join(subject.split(".")[:2])


class MetricsMiddleware:
    """Counts and times every HTTP request by matched route template (pure ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(self.service, label, scope["method"], str(status)).inc()
            HTTP_LATENCY.labels(self.service, label, scope["method"]).observe(time.perf_counter() - started)


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
