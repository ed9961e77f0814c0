"""The sandbox's news: 100 real crypto articles (NewsAPI, 2022-12-23) and 20 real CryptoPanic posts
(2025-02-26), replayed with their times shifted so the newest article is ten minutes old.

Several of the feeds (RSS, CryptoPanic) are built from the same real articles, as real aggregators carry
the same stories; which stories are planted as cross-source duplicates is documented in DATA_SOURCES.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from .clock import now_ms

NEWEST_AGE_MS = 10 * 60_000


def _data(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath("data", "news", name).read_text())


def parse_iso(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=1)
def _raw_articles() -> list[dict[str, Any]]:
    articles: list[dict[str, Any]] = _data("everything_articles_crypto_2022-12-23.json")
    return sorted(articles, key=lambda article: parse_iso(article["publishedAt"]), reverse=True)


def articles() -> list[dict[str, Any]]:
    """The real NewsAPI articles, newest first, `publishedAt` shifted so the newest is ten minutes old."""
    raw = _raw_articles()
    offset = now_ms() - NEWEST_AGE_MS - parse_iso(raw[0]["publishedAt"])
    return [{**article, "publishedAt": iso(parse_iso(article["publishedAt"]) + offset)} for article in raw]


@lru_cache(maxsize=1)
def _raw_posts() -> list[dict[str, Any]]:
    posts: list[dict[str, Any]] = _data("posts_free_v1_public_2025-02-26.json")["results"]
    return posts


def cryptopanic_posts() -> list[dict[str, Any]]:
    """The real CryptoPanic posts, shifted so the newest is ten minutes old."""
    raw = _raw_posts()
    newest = max(parse_iso(post["published_at"]) for post in raw)
    offset = now_ms() - NEWEST_AGE_MS - newest
    return [
        {
            **post,
            "published_at": iso(parse_iso(post["published_at"]) + offset),
            "created_at": iso(parse_iso(post["created_at"]) + offset),
        }
        for post in raw
    ]
