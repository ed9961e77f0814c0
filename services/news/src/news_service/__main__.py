"""`python -m news_service`: serve the news service on NEWS_PORT."""

from suite_shared.runner import run_service

run_service("news", "news_service.app:create_app")
