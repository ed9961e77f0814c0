"""Source adapters against bodies in the upstreams' real formats (recorded files and the sandbox's feeds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from news_service.articles import NewsQuery
from news_service.sources import RSS_FEEDS, CoinDeskRss, CryptoPanicPosts, NewsApiEverything, RssFeed, strip_html
from suite_shared.messages.news import Article
from suite_shared.upstream import MalformedBody, UpstreamClient
from upstream_sandbox.upstreams import cryptopanic, rss

# The real recorded responses, as copied into the sandbox (credited in sandbox/DATA_SOURCES.md).
RECORDED = Path(__file__).resolve().parents[3] / "sandbox" / "src" / "upstream_sandbox" / "data" / "news"
NO_CLIENT = cast(UpstreamClient, None)  # parsing needs no client
INGESTED = 1_800_000_000_000  # 2027: after every recorded item, so none is clamped as future-dated


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


def test_cryptopanic_recorded_posts_become_articles() -> None:
    body = recorded("posts_free_v1_public_2025-02-26.json")
    parsed = CryptoPanicPosts(NO_CLIENT).parse(body, ingested_at=INGESTED)
    assert len(parsed) == len(body["results"])
    first = parsed[0]
    assert first.title.startswith("Lowe’s Companies")
    assert first.source == "tokenist" and first.sources == ["cryptopanic"]
    assert first.published_at is not None and first.model_dump()["published_at"] == "2025-02-26T11:20:14Z"
    assert first.ingested_at == INGESTED
    assert "mtm_campaign" not in first.canonical_url
    assert (
        first.related_symbols == []
    )  # CryptoPanic's "EPS" (Ellipsis) tag on an earnings story is not an asset we know
    assert first.sentiment is None and first.sentiment_score is None


def test_cryptopanic_sandbox_posts_carry_coin_codes() -> None:
    parsed = CryptoPanicPosts(NO_CLIENT).parse({"count": 1, "results": cryptopanic.posts()})
    assert any("BTC" in article.related_symbols for article in parsed)
    assert all(article.language == "en" for article in parsed)


def test_cryptopanic_request_filters_by_category_currency() -> None:
    request = CryptoPanicPosts(NO_CLIENT).build_request(NewsQuery(category="bitcoin"))
    assert request.path == "/posts/" and request.params["currencies"] == "BTC"
    assert CryptoPanicPosts.api_key_param == "auth_token"


def test_newsapi_recorded_articles_become_articles() -> None:
    raw = recorded("everything_articles_crypto_2022-12-23.json")
    parsed = NewsApiEverything(NO_CLIENT).parse({"status": "ok", "totalResults": len(raw), "articles": raw})
    assert len(parsed) == len(raw)
    first = parsed[0]
    assert first.source == "Bitcoin Magazine" and first.sources == ["newsapi"]
    assert first.image_url and first.image_url.startswith("https://bitcoinmagazine.com/")
    assert first.summary and "<" not in first.summary
    assert "BTC" in first.related_symbols and "bitcoin" in first.tags
    assert first.published_ms == 1671801996000


def test_newsapi_request_asks_everything_for_crypto() -> None:
    request = NewsApiEverything(NO_CLIENT).build_request(NewsQuery())
    assert request.path == "/v2/everything"
    assert "bitcoin" in request.params["q"] and request.params["language"] == "en"
    assert NewsApiEverything.api_key_param == "apiKey"


def test_newsapi_skips_removed_and_incomplete_items() -> None:
    body = {
        "status": "ok",
        "articles": [
            {"title": "[Removed]", "url": "https://removed.com"},
            {"title": "no link"},
            {"title": "Bitcoin up", "url": "https://x.test/a", "source": {"name": "X"}},
        ],
    }
    assert [article.title for article in NewsApiEverything(NO_CLIENT).parse(body)] == ["Bitcoin up"]


@pytest.mark.parametrize("feed", RSS_FEEDS)
def test_rss_sandbox_feeds_parse_from_bytes(feed: type[RssFeed]) -> None:
    body = rss.render(feed.name).encode()
    parsed = feed(NO_CLIENT).parse(body, ingested_at=INGESTED)
    assert len(parsed) == len(rss.feed_items(feed.name))
    assert all(article.sources == [feed.name] and article.source == feed.publisher for article in parsed)
    assert all(article.published_at is not None and article.language == "en" for article in parsed)
    with_image = [article for article in parsed if article.image_url]
    assert with_image and all(url.startswith("http") for url in (a.image_url for a in with_image))


def test_rss_strips_html_and_finds_image_in_summary() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><language>en-US</language>
    <item><title>Ethereum &amp; friends</title><link>https://www.coindesk.com/a/?utm_source=x</link>
    <pubDate>Fri, 23 Dec 2022 13:26:36 GMT</pubDate>
    <description><![CDATA[<p><img src="https://img.test/e.png"/>Ether <b>rallies</b>&nbsp;today.</p>]]></description>
    </item></channel></rss>"""
    [article] = CoinDeskRss(NO_CLIENT).parse(body)
    assert article.title == "Ethereum & friends"
    assert article.summary == "Ether rallies today."
    assert article.image_url == "https://img.test/e.png"
    assert article.canonical_url == "https://coindesk.com/a"
    assert article.related_symbols == ["ETH"] and article.tags == ["ethereum"]


def test_a_story_without_description_has_an_empty_summary_never_null() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
    <item><title>Bitcoin moves</title><link>https://www.coindesk.com/b/</link></item></channel></rss>"""
    [article] = CoinDeskRss(NO_CLIENT).parse(body)
    assert article.summary == "" and article.to_contract()["summary"] == ""
    # A story stored before the rule (summary null) reads the same way.
    stored = Article.model_validate_json(article.model_copy(update={"summary": None}).model_dump_json())
    assert stored.summary == ""


@pytest.mark.parametrize("body", [None, {"detail": "x"}, [1, 2], {"results": "nope"}, "<html>"])
def test_cryptopanic_garbage_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedBody):
        CryptoPanicPosts(NO_CLIENT).parse(body)


@pytest.mark.parametrize(
    "body", [{"status": "error", "code": "apiKeyInvalid", "message": "bad"}, {"articles": None}, []]
)
def test_newsapi_error_or_garbage_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedBody):
        NewsApiEverything(NO_CLIENT).parse(body)


@pytest.mark.parametrize("body", [b"", b"   ", b"not a feed at all {", b'{"json": true}', None])
def test_rss_garbage_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedBody):
        CoinDeskRss(NO_CLIENT).parse(body)


def test_empty_but_valid_feed_is_no_articles() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    assert CoinDeskRss(NO_CLIENT).parse(body) == []


def test_strip_html_decodes_entities_and_collapses_space() -> None:
    assert strip_html("<p>A&amp;B</p><p>C  &lt;D&gt;</p>") == "A&B C <D>"
    assert strip_html("<br/>") is None and strip_html(None) is None


def test_feed_items_are_not_trusted_links_markup_and_future_times() -> None:
    def item(url: str, title: str, published: str, summary: str = "", image: str = "") -> str:
        return (
            f"<item><title>{title}</title><link>{url}</link><pubDate>{published}</pubDate>"
            f"<description>{summary}</description>"
            f"{f'<enclosure url={chr(34)}{image}{chr(34)} type={chr(34)}image/png{chr(34)}/>' if image else ''}</item>"
        )

    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        + item("javascript:alert(1)", "Evil link", "Mon, 01 Jan 2024 00:00:00 GMT")
        + item("data:text/html,hi", "Data link", "Mon, 01 Jan 2024 00:00:00 GMT")
        + item(
            "https://news.test/a",
            "&lt;b&gt;Bitcoin&lt;/b&gt; &lt;script&gt;x()&lt;/script&gt;rallies",
            "Fri, 01 Jan 2100 00:00:00 GMT",
            "&lt;p&gt;Up &lt;a href='javascript:x'&gt;10%&lt;/a&gt;&lt;/p&gt;",
            "javascript:alert(2)",
        )
        + "</channel></rss>"
    )
    (article,) = RSS_FEEDS[0](NO_CLIENT).parse(body.encode(), ingested_at=INGESTED)
    assert article.url == "https://news.test/a"
    assert article.title == "Bitcoin rallies"  # markup gone, and what a script held with it
    assert article.summary == "Up 10%" and article.image_url is None
    assert article.published_ms is not None and article.published_ms <= INGESTED + 10 * 60_000
