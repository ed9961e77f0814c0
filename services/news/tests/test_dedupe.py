"""De-duplication: the sandbox's planted duplicates merge, distinct stories stay apart, ids stay stable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from news_service.dedupe import Deduplicator, article_id, canonical_url, dedupe, merge, normalise_title
from news_service.sources import RSS_FEEDS, build_article
from suite_shared.messages.news import Article
from suite_shared.upstream import UpstreamClient
from upstream_sandbox.news_corpus import articles
from upstream_sandbox.upstreams import rss

NO_CLIENT = cast(UpstreamClient, None)
NOON = datetime(2024, 5, 1, 12, tzinfo=UTC)
READ_AT = int((NOON + timedelta(days=30)).timestamp() * 1000)  # when the polls read the stories


def story(title: str, url: str, provider: str = "newsapi", at: datetime = NOON, ingested: int = 1) -> Article:
    article = build_article(
        provider=provider,
        publisher=provider.title(),
        title=title,
        url=url,
        published_at=at,
        ingested_at=READ_AT + ingested,
    )
    assert article is not None
    return article


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "https://www.CoinDesk.com/markets/story/?utm_source=rss&utm_medium=feed",
            "https://coindesk.com/markets/story",
        ),
        ("http://coindesk.com:443/a/?b=2&a=1&fbclid=x&ref=tw#comments", "https://coindesk.com/a?a=1&b=2"),
        ("https://decrypt.co/117839/dogecoin?mtm_campaign=API-OFA&id=7", "https://decrypt.co/117839/dogecoin?id=7"),
        ("https://example.com:8080//x//", "https://example.com:8080/x"),
    ],
)
def test_canonical_url_drops_decorations(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


def test_normalised_titles_ignore_case_quotes_and_trailing_label() -> None:
    original = "FTX’s SBF Out of Jail and Off to Parents Mansion"
    assert normalise_title(original) == normalise_title(f"{original.title()} - Report")
    assert normalise_title("Bitcoin: a primer") == "bitcoin a primer"


def test_planted_rss_duplicates_merge_into_one_story_each() -> None:
    corpus = articles()
    carried = [article for feed in RSS_FEEDS for article in feed(NO_CLIENT).parse(rss.render(feed.name).encode())]
    stories = dedupe(carried)
    assert len(stories) <= len(corpus) < len(carried)  # the corpus itself repeats some stories across publishers
    by_url = {item.canonical_url: item for item in stories}
    for index in (0, 10, 20, 5, 15, 25):  # tracking-parameter copies, then re-cased "- Report" copies
        original = corpus[index]
        merged = by_url.get(canonical_url(original["url"])) or next(
            item for item in stories if item.title == original["title"]
        )
        expected = {RSS_FEEDS[index % 3].name, RSS_FEEDS[(index + 1) % 3].name}
        assert expected <= set(merged.sources), (index, merged.sources)


def test_planted_duplicates_keep_id_of_first_seen_and_earliest_time() -> None:
    first = story("Bitcoin ETF approved", "https://coindesk.com/etf", "coindesk", NOON + timedelta(minutes=5), 10)
    tracked = story("Bitcoin ETF approved", "https://www.coindesk.com/etf/?utm_source=rss", "cointelegraph", NOON, 20)
    [merged] = dedupe([first, tracked])
    assert merged.id == article_id("https://coindesk.com/etf") == first.id
    assert merged.published_at == NOON and merged.ingested_at == READ_AT + 10
    assert merged.sources == ["coindesk", "cointelegraph"]


def test_near_identical_titles_across_sources_merge() -> None:
    a = story("Solana Outage Halts Block Production for Five Hours", "https://a.test/1", "coindesk")
    b = story("Solana outage halts block production for 5 hours - Decrypt", "https://b.test/2", "decrypt")
    [merged] = dedupe([a, b])
    assert merged.sources == ["coindesk", "decrypt"] and merged.related_symbols == ["SOL"]


def test_distinct_stories_stay_apart() -> None:
    rises = story("Bitcoin rises above $20,000 as traders cheer", "https://a.test/1")
    falls = story("Bitcoin falls below $20,000 as traders panic", "https://a.test/2")
    other = story("Ethereum developers set date for Shanghai upgrade", "https://a.test/3")
    assert len(dedupe([rises, falls, other])) == 3


def test_same_title_far_apart_in_time_is_a_new_story() -> None:
    weekly = story("Weekly crypto market wrap", "https://a.test/w1")
    later = story("Weekly crypto market wrap", "https://a.test/w2", at=NOON + timedelta(days=7))
    assert len(dedupe([weekly, later])) == 2


def test_merge_unions_tags_symbols_and_fills_missing_fields() -> None:
    base = story("Bitcoin and Uniswap", "https://a.test/1").model_copy(update={"image_url": None, "summary": None})
    extra = story("Ethereum NFT news", "https://b.test/1").model_copy(
        update={"image_url": "https://img.test/x.png", "summary": "s"}
    )
    merged = merge(base, extra)
    assert merged.related_symbols == ["BTC", "UNI", "ETH"]
    assert set(merged.tags) == {"bitcoin", "defi", "ethereum", "nft"}
    assert merged.image_url == "https://img.test/x.png" and merged.summary == "s"
    assert merged.id == base.id and merged.title == base.title


def test_deduplicator_keeps_ids_stable_across_polls() -> None:
    folder = Deduplicator()
    first, new = folder.add(story("Bitcoin ETF approved", "https://coindesk.com/etf", "coindesk"))
    again, new_again = folder.add(story("Bitcoin ETF Approved", "https://other.test/x", "cryptopanic"))
    assert new and not new_again and again.id == first.id
    assert len(folder.stories()) == 1
