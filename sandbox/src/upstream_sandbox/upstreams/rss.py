"""RSS 2.0 feeds imitating CoinDesk, Cointelegraph and Decrypt (`/rss/coindesk`, `/rss/cointelegraph`,
`/rss/decrypt`), built from the real NewsAPI articles, with times shifted so the newest is minutes old.

Articles are dealt round-robin to the three feeds. Planted duplicates, for de-duplication tests (see
DATA_SOURCES.md): every tenth article (0, 10, 20, …) also appears in the next feed with the same URL plus
`utm_source=rss&utm_medium=feed` added to its query; every tenth from 5 (5, 15, …) appears there again with a
near-identical title (its words' case changed and a trailing " - Report").
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter
from fastapi.responses import Response

from ..news_corpus import articles, parse_iso

PREFIX = "/rss"
router = APIRouter()

FEEDS = {
    "coindesk": ("CoinDesk: Bitcoin, Ethereum, Crypto News and Price Data", "https://www.coindesk.com"),
    "cointelegraph": ("Cointelegraph.com News", "https://cointelegraph.com"),
    "decrypt": ("Decrypt", "https://decrypt.co"),
}
NAMES = list(FEEDS)
TRACKING = "utm_source=rss&utm_medium=feed"


def feed_items(feed: str) -> list[dict[str, Any]]:
    """The articles one feed carries (dealt round-robin), plus the duplicates planted in it."""
    position = NAMES.index(feed)
    items = []
    for index, article in enumerate(articles()):
        if index % 3 == position:
            items.append(article)
        elif (index + 1) % 3 == position and index % 10 == 0:
            joiner = "&" if "?" in article["url"] else "?"
            items.append({**article, "url": f"{article['url']}{joiner}{TRACKING}"})
        elif (index + 1) % 3 == position and index % 10 == 5:
            items.append({**article, "title": f"{article['title'].title()} - Report"})
    return items


def _item(article: dict[str, Any]) -> str:
    published = datetime.fromtimestamp(parse_iso(article["publishedAt"]) / 1000, tz=UTC)
    image = (
        f'<media:content url="{escape(article["urlToImage"])}" medium="image"/>' if article.get("urlToImage") else ""
    )
    return (
        f"<item><title>{escape(article['title'])}</title><link>{escape(article['url'])}</link>"
        f'<guid isPermaLink="false">{escape(article["url"])}</guid>'
        f"<pubDate>{format_datetime(published)}</pubDate>"
        f"<description>{escape(article.get('description') or '')}</description>"
        f"<category>{escape(article['source']['name'])}</category>"
        f"<dc:creator>{escape(article.get('author') or '')}</dc:creator>{image}</item>"
    )


def render(feed: str) -> str:
    title, link = FEEDS[feed]
    items = "".join(_item(article) for article in feed_items(feed))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>{escape(title)}</title><link>{link}</link>"
        f"<description>{escape(title)} (sandbox replay of recorded articles)</description>"
        f"<language>en</language>{items}</channel></rss>"
    )


@router.get("/{feed}")
async def get_feed(feed: str) -> Response:
    if feed not in FEEDS:
        return Response("Not Found", status_code=404, media_type="text/plain")
    return Response(render(feed), media_type="application/rss+xml; charset=utf-8")
