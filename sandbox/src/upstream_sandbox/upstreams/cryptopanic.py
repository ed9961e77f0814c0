"""CryptoPanic free API v1 imitation: `GET /posts/?auth_token=…` → `{"count", "next", "previous", "results"}`.

Results are the real recorded posts plus posts made from the real NewsAPI articles (as CryptoPanic
aggregates the same publishers), shifted so the newest is minutes old; filters by currency code and kind.
Votes of the posts made from articles are zero.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..news_corpus import articles, cryptopanic_posts, parse_iso

PREFIX = "/cryptopanic/api/free/v1"
router = APIRouter()

PAGE_SIZE = 20
COIN_WORDS = {
    "BTC": ("bitcoin", "btc"),
    "ETH": ("ethereum", "ether ", "eth"),
    "SOL": ("solana",),
    "XRP": ("xrp", "ripple"),
    "DOGE": ("dogecoin", "doge"),
    "BNB": ("binance coin", "bnb"),
    "ADA": ("cardano",),
    "USDT": ("tether", "usdt"),
    "USDC": ("usdc", "circle"),
}
COIN_TITLES = {
    "BTC": "Bitcoin",
    "ETH": "Ethereum",
    "SOL": "Solana",
    "XRP": "XRP",
    "DOGE": "Dogecoin",
    "BNB": "BNB",
    "ADA": "Cardano",
    "USDT": "Tether",
    "USDC": "USD Coin",
}
NO_VOTES = {
    "negative": 0,
    "positive": 0,
    "important": 0,
    "liked": 0,
    "disliked": 0,
    "lol": 0,
    "toxic": 0,
    "saved": 0,
    "comments": 0,
}


def _slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-")[:80]


def _currencies(text: str) -> list[dict[str, str]]:
    lowered = f" {text.lower()} "
    return [
        {
            "code": code,
            "title": COIN_TITLES[code],
            "slug": COIN_TITLES[code].lower().replace(" ", "-"),
            "url": f"https://cryptopanic.com/news/{COIN_TITLES[code].lower().replace(' ', '-')}/",
        }
        for code, words in COIN_WORDS.items()
        if any(word in lowered for word in words)
    ]


def posts() -> list[dict[str, Any]]:
    made = []
    for index, article in enumerate(articles()):
        domain = urlsplit(article["url"]).netloc.removeprefix("www.")
        post_id = 30_000_000 + index
        made.append(
            {
                "kind": "news",
                "domain": domain,
                "source": {
                    "title": article["source"]["name"],
                    "region": "en",
                    "domain": domain,
                    "path": None,
                    "type": "feed",
                },
                "title": article["title"],
                "published_at": article["publishedAt"],
                "slug": _slug(article["title"]),
                "currencies": _currencies(f"{article['title']} {article.get('description') or ''}"),
                "id": post_id,
                "url": f"https://cryptopanic.com/news/{post_id}/{_slug(article['title'])}",
                "created_at": article["publishedAt"],
                "votes": dict(NO_VOTES),
            }
        )
    combined = cryptopanic_posts() + made
    return sorted(combined, key=lambda post: parse_iso(post["published_at"]), reverse=True)


@router.get("/posts/", response_model=None)
async def get_posts(
    request: Request,
    auth_token: str | None = None,
    currencies: str | None = None,
    kind: str = "news",
    filter: str | None = None,
    public: bool = False,
    page: int = 1,
) -> Any:
    if not auth_token:
        return JSONResponse({"status": "Incomplete", "info": "Token not found"}, status_code=401)
    rows = posts()
    if kind in ("news", "media"):
        rows = [post for post in rows if post["kind"] == kind]
    if currencies:
        wanted = {code.strip().upper() for code in currencies.split(",")}
        rows = [post for post in rows if wanted & {currency["code"] for currency in post.get("currencies") or []}]
    start = (max(page, 1) - 1) * PAGE_SIZE
    base = str(request.url.remove_query_params("page"))
    more = start + PAGE_SIZE < len(rows)
    return {
        "count": len(rows),
        "next": f"{base}&page={page + 1}" if more else None,
        "previous": f"{base}&page={page - 1}" if page > 1 else None,
        "results": rows[start : start + PAGE_SIZE],
    }
