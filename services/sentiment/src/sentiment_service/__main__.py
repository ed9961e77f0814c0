"""`python -m sentiment_service`: serve the sentiment service on SENTIMENT_PORT."""

from suite_shared.runner import run_service

run_service("sentiment", "sentiment_service.app:create_app")
