"""News source adapters: CryptoPanic, NewsAPI and the CoinDesk, Cointelegraph and Decrypt RSS feeds.

Each is a shared-library `Fetcher`: `build_request` turns our query into the upstream's, the shared
`UpstreamClient` fetches (API keys go in through `UpstreamConfig.api_key_param`), and `parse` turns the
body into `Article`s. A body of the wrong shape raises `MalformedBody`, so the chain falls back; a single
unusable item (no title or link) is skipped rather than sinking the whole page.
"""

from __future__ import annotations

import calendar
import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import urlsplit

import feedparser

from suite_shared.envelope import now_ms
from suite_shared.messages.news import Article
from suite_shared.providers import Fetcher, UpstreamRequest
from suite_shared.upstream import MalformedBody

from .articles import NewsQuery, parse_iso
from .dedupe import article_id, canonical_url
from .symbols import derive_tags, extract_symbols, normalise_symbols

NEWSAPI_QUERY = "bitcoin OR ethereum OR crypto OR cryptocurrency OR blockchain"
CATEGORY_QUERIES = {
    "bitcoin": "bitcoin",
    "ethereum": "ethereum",
    "defi": 'defi OR "decentralized finance"',
    "nft": "nft OR nfts",
}
CATEGORY_CURRENCIES = {"bitcoin": "BTC", "ethereum": "ETH"}
FUTURE_SKEW_MS = 10 * 60_000  # a publication time may be this far ahead of ours (clock skew), no further
REMOVED = "[Removed]"  # NewsAPI's placeholder for articles withdrawn by their publisher


class _TextExtractor(HTMLParser):
    """The readable text of a fragment: tags dropped, and with them what scripts and styles contain."""

    HIDDEN = frozenset({"script", "style", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.first_image: str | None = None
        self._hidden = 0

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        if tag in ("p", "br", "li", "div") and self.parts:
            self.parts.append(" ")
        if tag == "img" and self.first_image is None:
            self.first_image = dict(attrs).get("src")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1


def strip_html(text: str | None) -> str | None:
    """Plain text of an HTML fragment (entities decoded, whitespace collapsed); None when nothing is left."""
    if not text:
        return None
    extractor = _TextExtractor()
    extractor.feed(text)
    extractor.close()
    plain = re.sub(r"\s+", " ", html.unescape("".join(extractor.parts))).strip()
    return plain or None


def is_web_link(url: str) -> bool:
    """An absolute http(s) URL with a host: the only links served to clients."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _clamped(published_at: datetime | None, ingested_at: int) -> datetime | None:
    latest = datetime.fromtimestamp((ingested_at + FUTURE_SKEW_MS) / 1000, tz=UTC)
    return min(published_at, latest) if published_at is not None else None


def first_image(fragment: str | None) -> str | None:
    """The `src` of the first `<img>` in an HTML fragment."""
    if not fragment:
        return None
    extractor = _TextExtractor()
    extractor.feed(fragment)
    return extractor.first_image


def build_article(
    *,
    provider: str,
    publisher: str,
    title: str,
    url: str,
    published_at: datetime | None,
    ingested_at: int,
    summary: str | None = None,
    image_url: str | None = None,
    language: str = "en",
    currencies: list[str] | None = None,
) -> Article | None:
    """An `Article` with id, canonical URL, symbols and tags derived the same way for every source; None
    for an item we will not serve (its link is not http(s): `javascript:`, `data:` and the like).

    Feeds are not trusted: markup is stripped from the title and summary, an image that is not http(s) is
    dropped, and a publication time in the future (a feed's mistake or a trick to stay on top) is clamped
    to when we read it, plus a little clock skew."""
    if not is_web_link(url):
        return None
    clean_title = strip_html(title) or title.strip()
    summary = strip_html(summary)
    canonical = canonical_url(url)
    symbols = extract_symbols(clean_title, summary)
    symbols += [code for code in normalise_symbols(currencies or []) if code not in symbols]
    return Article(
        id=article_id(canonical),
        title=clean_title,
        url=url.strip(),
        canonical_url=canonical,
        source=publisher,
        sources=[provider],
        published_at=_clamped(published_at, ingested_at),
        ingested_at=ingested_at,
        language=language,
        summary=summary,
        image_url=image_url if image_url and is_web_link(image_url) else None,
        related_symbols=symbols,
        tags=derive_tags(clean_title, summary, symbols),
    )


class NewsSource(Fetcher[NewsQuery, list[Article]]):
    """A source of articles; `parse` takes `ingested_at` so tests can pin it (default: now)."""

    def transform(self, query: NewsQuery, raw: Any) -> list[Article]:
        return self.parse(raw)[: query.limit]

    def parse(self, body: Any, ingested_at: int | None = None) -> list[Article]:
        raise NotImplementedError

    def malformed(self, why: str) -> MalformedBody:
        return MalformedBody(self.upstream, why)


def _json_list(source: NewsSource, body: Any, key: str) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise source.malformed(f"expected an object with a '{key}' list, got {type(body).__name__}")
    return body[key]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _time(value: Any) -> datetime | None:
    try:
        return parse_iso(value) if isinstance(value, str) else None
    except ValueError:
        return None


class CryptoPanicPosts(NewsSource):
    """CryptoPanic's posts API (`/posts/`, token in `auth_token`): headlines with the coins they concern."""

    name = "cryptopanic"
    upstream = "cryptopanic"
    api_key_param: ClassVar[str] = "auth_token"

    def build_request(self, query: NewsQuery) -> UpstreamRequest:
        params: dict[str, Any] = {"kind": "news", "public": "true", "regions": query.language}
        if query.category in CATEGORY_CURRENCIES:
            params["currencies"] = CATEGORY_CURRENCIES[query.category]
        return UpstreamRequest("/posts/", params)

    def parse(self, body: Any, ingested_at: int | None = None) -> list[Article]:
        at = ingested_at if ingested_at is not None else now_ms()
        return [article for post in _json_list(self, body, "results") if (article := self._post(post, at))]

    def _post(self, post: Any, at: int) -> Article | None:
        if not isinstance(post, dict) or not (_text(post.get("title")) and _text(post.get("url"))):
            return None
        publisher = _mapping(post.get("source"))
        currencies = [c["code"] for c in post.get("currencies") or [] if isinstance(c, dict) and "code" in c]
        metadata = _mapping(post.get("metadata"))  # paid plans only
        return build_article(
            provider=self.name,
            publisher=_text(publisher.get("title")) or _text(post.get("domain")) or self.name,
            title=post["title"],
            url=post["url"],
            published_at=_time(post.get("published_at")),
            ingested_at=at,
            summary=strip_html(_text(metadata.get("description")) or _text(post.get("description"))),
            image_url=_text(metadata.get("image")),
            language=_text(publisher.get("region")) or "en",
            currencies=currencies,
        )


class NewsApiEverything(NewsSource):
    """NewsAPI's `/v2/everything` search for crypto stories (key in `apiKey`; 100 calls a day, poll gently)."""

    name = "newsapi"
    upstream = "newsapi"
    api_key_param: ClassVar[str] = "apiKey"

    def build_request(self, query: NewsQuery) -> UpstreamRequest:
        search = CATEGORY_QUERIES.get(query.category, NEWSAPI_QUERY)
        return UpstreamRequest(
            "/v2/everything",
            {"q": search, "language": query.language, "sortBy": "publishedAt", "pageSize": query.limit},
        )

    def parse(self, body: Any, ingested_at: int | None = None) -> list[Article]:
        if isinstance(body, dict) and body.get("status") == "error":
            raise self.malformed(f"error body: {body.get('code')}: {body.get('message')}")
        at = ingested_at if ingested_at is not None else now_ms()
        return [article for item in _json_list(self, body, "articles") if (article := self._item(item, at))]

    def _item(self, item: Any, at: int) -> Article | None:
        if not isinstance(item, dict) or not (_text(item.get("title")) and _text(item.get("url"))):
            return None
        if item["title"] == REMOVED:
            return None
        publisher = _mapping(item.get("source"))
        return build_article(
            provider=self.name,
            publisher=_text(publisher.get("name")) or self.name,
            title=item["title"],
            url=item["url"],
            published_at=_time(item.get("publishedAt")),
            ingested_at=at,
            summary=strip_html(_text(item.get("description"))),
            image_url=_text(item.get("urlToImage")),
        )


class RssFeed(NewsSource):
    """One publisher's RSS/Atom feed, parsed from bytes by feedparser (it sniffs the encoding itself)."""

    publisher: ClassVar[str]

    def build_request(self, query: NewsQuery) -> UpstreamRequest:
        return UpstreamRequest("")  # the registered base URL is the feed itself

    async def extract(self, query: NewsQuery) -> Any:
        request = self.build_request(query)
        response = await self.client.request(self.upstream, "GET", request.path, params=request.params)
        return response.content

    def parse(self, body: Any, ingested_at: int | None = None) -> list[Article]:
        if not isinstance(body, (bytes, str)) or not body.strip():
            raise self.malformed("empty or non-text feed body")
        parsed = feedparser.parse(body)
        if not parsed.get("version") and not parsed.entries:
            raise self.malformed(f"not an RSS/Atom feed ({parsed.get('bozo_exception', 'no feed element')})")
        at = ingested_at if ingested_at is not None else now_ms()
        language = _language(parsed.feed.get("language"))
        return [article for entry in parsed.entries if (article := self._entry(entry, at, language))]

    def _entry(self, entry: Any, at: int, language: str) -> Article | None:
        title, link = _text(entry.get("title")), _text(entry.get("link"))
        if not (title and link):
            return None
        raw_summary = entry.get("summary") or _content(entry)
        return build_article(
            provider=self.name,
            publisher=self.publisher,
            title=title,
            url=link,
            published_at=_entry_time(entry),
            ingested_at=at,
            summary=strip_html(raw_summary),
            image_url=_entry_image(entry, raw_summary),
            language=language,
        )


class CoinDeskRss(RssFeed):
    name = "coindesk"
    upstream = "coindesk"
    publisher = "CoinDesk"


class CointelegraphRss(RssFeed):
    name = "cointelegraph"
    upstream = "cointelegraph"
    publisher = "Cointelegraph"


class DecryptRss(RssFeed):
    name = "decrypt"
    upstream = "decrypt"
    publisher = "Decrypt"


RSS_FEEDS: tuple[type[RssFeed], ...] = (CoinDeskRss, CointelegraphRss, DecryptRss)


def _language(value: Any) -> str:
    text = _text(value)
    return text.split("-")[0].split("_")[0].lower() if text else "en"


def _content(entry: Any) -> str | None:
    contents = entry.get("content") or []
    return contents[0].get("value") if contents else None


def _entry_time(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if parsed is None:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


def _entry_image(entry: Any, raw_summary: str | None) -> str | None:
    """The story's picture: media:content / media:thumbnail, an image enclosure, or the summary's first <img>."""
    for media in [*(entry.get("media_content") or []), *(entry.get("media_thumbnail") or [])]:
        if media.get("url") and media.get("medium", "image") == "image":
            return str(media["url"])
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            return str(link.get("href"))
    return first_image(raw_summary)
