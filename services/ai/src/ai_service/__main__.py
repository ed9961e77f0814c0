"""`python -m ai_service`: serve the ai service on AI_PORT."""

from suite_shared.runner import run_service

run_service("ai", "ai_service.app:create_app")
