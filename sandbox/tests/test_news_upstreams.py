"""The sandbox's news and sentiment upstreams: NewsAPI, CryptoPanic, RSS feeds and Alternative.me."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from upstream_sandbox.app import create_app

ARTICLE_FIELDS = {"source", "author", "title", "description", "url", "urlToImage", "publishedAt", "content"}
POST_FIELDS = {
    "kind",
    "domain",
    "source",
    "title",
    "published_at",
    "slug",
    "currencies",
    "id",
    "url",
    "created_at",
    "votes",
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def age_s(iso: str) -> float:
    return time.time() - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_newsapi_articles_are_real_and_minutes_old(client: TestClient) -> None:
    body = client.get("/newsapi/v2/everything", params={"q": "bitcoin", "apiKey": "k", "pageSize": 5}).json()
    assert body["status"] == "ok" and body["totalResults"] >= 5 and len(body["articles"]) == 5
    assert set(body["articles"][0]) == ARTICLE_FIELDS
    assert 0 <= age_s(body["articles"][0]["publishedAt"]) < 15 * 60


def test_newsapi_errors_use_its_codes(client: TestClient) -> None:
    missing = client.get("/newsapi/v2/everything", params={"q": "bitcoin"})
    assert missing.status_code == 401 and missing.json()["code"] == "apiKeyMissing"
    broad = client.get("/newsapi/v2/everything", params={"apiKey": "k"})
    assert broad.status_code == 400 and broad.json()["code"] == "parametersMissing"


def test_cryptopanic_posts_filter_by_currency_and_need_a_token(client: TestClient) -> None:
    body = client.get("/cryptopanic/api/free/v1/posts/", params={"auth_token": "k", "currencies": "ETH"}).json()
    assert body["results"] and set(body["results"][0]) == POST_FIELDS
    assert all("ETH" in {c["code"] for c in post["currencies"]} for post in body["results"])
    assert client.get("/cryptopanic/api/free/v1/posts/").status_code == 401


def test_rss_feeds_parse_and_carry_the_planted_duplicates(client: TestClient) -> None:
    feeds = {}
    for name in ("coindesk", "cointelegraph", "decrypt"):
        response = client.get(f"/rss/{name}")
        assert response.headers["content-type"].startswith("application/rss+xml")
        feeds[name] = ET.fromstring(response.text).findall("./channel/item")
        assert feeds[name] and feeds[name][0].find("pubDate") is not None
    links = [item.findtext("link") or "" for items in feeds.values() for item in items]
    tracked = [link for link in links if "utm_source=rss" in link]
    untracked = [
        link.replace("?utm_source=rss&utm_medium=feed", "").replace("&utm_source=rss&utm_medium=feed", "")
        for link in tracked
    ]
    assert tracked and all(link in links for link in untracked)
    assert any(
        (item.findtext("title") or "").endswith(" - Report") for item in feeds["cointelegraph"] + feeds["decrypt"]
    )


def test_fear_and_greed_replays_recorded_values_ending_today(client: TestClient) -> None:
    data = client.get("/alternative-me/fng/", params={"limit": 3}).json()["data"]
    assert len(data) == 3 and all(row["value"].isdigit() for row in data)
    assert "time_until_update" in data[0] and "time_until_update" not in data[1]
    assert int(data[0]["timestamp"]) == int(time.time()) // 86400 * 86400
    assert int(data[0]["timestamp"]) - int(data[1]["timestamp"]) == 86400
