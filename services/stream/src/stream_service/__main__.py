"""`python -m stream_service`: serve the stream service on STREAM_PORT."""

from suite_shared.runner import run_service

run_service("stream", "stream_service.app:create_app")
