"""`python -m market_service`: serve the market service on MARKET_PORT."""

from suite_shared.runner import run_service

run_service("market", "market_service.app:create_app")
