"""The stream service's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONNECTIONS = Gauge("stream_connections", "Open WebSocket connections")
SUBSCRIPTIONS = Gauge("stream_subscriptions", "Channel/symbol subscriptions across connections")
MESSAGES_OUT = Counter("stream_messages_sent_total", "Data messages sent to clients", ["channel"])
DROPS = Counter("stream_messages_dropped_total", "Messages dropped for slow clients", ["channel", "reason"])
DISCONNECTS = Counter("stream_disconnects_total", "Connections closed by the server", ["reason"])
CLIENT_ERRORS = Counter("stream_client_errors_total", "Bad client messages answered with an error", ["code"])
SEND_LATENCY = Histogram(
    "stream_send_seconds",
    "Time to hand one frame to the socket",
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0),
)
RESUMES = Counter("stream_resumes_total", "Resume requests by outcome (resumed, gap, unknown_session)", ["outcome"])
GC_PAUSE = Histogram(
    "stream_gc_pause_seconds",
    "Python garbage-collector pauses, by generation",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
LOOP_LAG = Histogram(
    "stream_event_loop_lag_seconds",
    "How much later than asked the event loop ran a 0.1 s sleeper (loop_lag.py)",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
