"""The sandbox's CoinGecko and CoinCap imitations: real wire formats, shifted time, one shared market."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from upstream_sandbox.app import create_app

COINGECKO_MARKET_FIELDS = {
    "id",
    "symbol",
    "name",
    "image",
    "current_price",
    "market_cap",
    "market_cap_rank",
    "fully_diluted_valuation",
    "total_volume",
    "high_24h",
    "low_24h",
    "price_change_24h",
    "price_change_percentage_24h",
    "market_cap_change_24h",
    "market_cap_change_percentage_24h",
    "circulating_supply",
    "total_supply",
    "max_supply",
    "ath",
    "ath_change_percentage",
    "ath_date",
    "atl",
    "atl_change_percentage",
    "atl_date",
    "roi",
    "last_updated",
}
COINCAP_FIELDS = {
    "id",
    "rank",
    "symbol",
    "name",
    "supply",
    "maxSupply",
    "marketCapUsd",
    "volumeUsd24Hr",
    "priceUsd",
    "changePercent24Hr",
    "vwap24Hr",
    "explorer",
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def markets(client: TestClient, **params: object) -> list[dict[str, object]]:
    response = client.get("/coingecko/api/v3/coins/markets", params={"vs_currency": "usd", **params})
    assert response.status_code == 200
    rows: list[dict[str, object]] = response.json()
    return rows


def test_coins_markets_rows_have_coingecko_fields_and_types(client: TestClient) -> None:
    rows = markets(client, per_page=250, price_change_percentage="1h,24h,7d")
    assert len(rows) == 250
    assert set(rows[0]) == COINGECKO_MARKET_FIELDS | {
        f"price_change_percentage_{p}_in_currency" for p in ("1h", "24h", "7d")
    }
    assert all(isinstance(row["current_price"], float) and isinstance(row["market_cap_rank"], int) for row in rows)
    assert [row["market_cap_rank"] for row in rows] == list(range(1, 251))
    assert rows[0]["symbol"] == "btc" and str(rows[0]["ath_date"]).endswith("Z")


def test_five_hundred_coins_over_two_pages_and_categories(client: TestClient) -> None:
    second = markets(client, per_page=250, page=2)
    assert len(second) == 250 and second[-1]["market_cap_rank"] == 500
    assert markets(client, per_page=250, page=3) == []
    defi = markets(client, per_page=250, category="decentralized-finance-defi")
    assert 0 < len(defi) < 250 and {"uni", "aave"} <= {row["symbol"] for row in defi}


def test_last_updated_is_now(client: TestClient) -> None:
    row = markets(client, per_page=1)[0]
    updated = time.mktime(time.strptime(str(row["last_updated"])[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert abs(updated - time.time()) < 5


def test_bad_vs_currency_and_category_use_coingecko_errors(client: TestClient) -> None:
    response = client.get("/coingecko/api/v3/coins/markets", params={"vs_currency": "xyz"})
    assert response.status_code == 400 and response.json() == {"error": "invalid vs_currency"}
    missing = client.get("/coingecko/api/v3/coins/markets", params={"vs_currency": "usd", "category": "nope"})
    assert missing.status_code == 404


def test_coincap_serves_the_same_market_as_strings(client: TestClient) -> None:
    body = client.get("/coincap/v2/assets", params={"limit": 3}).json()
    assert isinstance(body["timestamp"], int) and set(body["data"][0]) == COINCAP_FIELDS
    assert all(isinstance(body["data"][0][field], str) for field in ("rank", "priceUsd", "marketCapUsd"))
    gecko_btc = markets(client, per_page=1)[0]
    assert float(body["data"][0]["priceUsd"]) == pytest.approx(float(gecko_btc["current_price"]), rel=1e-3)  # type: ignore[arg-type]
    assert client.get("/coincap/v2/assets/nope").status_code == 404


def test_global_shares_and_market_chart_range(client: TestClient) -> None:
    data = client.get("/coingecko/api/v3/global").json()["data"]
    assert 0 < sum(data["market_cap_percentage"].values()) <= 100 and data["total_market_cap"]["usd"] > 0
    now_s = int(time.time())
    chart = client.get(
        "/coingecko/api/v3/coins/bitcoin/market_chart/range",
        params={"vs_currency": "usd", "from": now_s - 3 * 86400, "to": now_s},
    ).json()
    times = [point[0] for point in chart["prices"]]
    assert times == sorted(times) and times[1] - times[0] == 3_600_000 and times[-1] <= now_s * 1000
    assert len(chart["prices"]) == len(chart["market_caps"]) == len(chart["total_volumes"])


def test_faults_apply_to_market_upstreams(client: TestClient) -> None:
    client.post("/_sandbox/faults", json={"upstream": "coingecko", "mode": "status", "status": 503, "times": 1})
    assert client.get("/coingecko/api/v3/ping").status_code == 503
    assert client.get("/coingecko/api/v3/ping").status_code == 200
    client.post("/_sandbox/faults", json={"upstream": "coincap", "mode": "malformed"})
    assert client.get("/coincap/v2/assets").content.startswith(b'{"this is"')
    client.delete("/_sandbox/faults")
    client.delete("/_sandbox/calls")
    client.get("/coincap/v2/assets")
    assert client.get("/_sandbox/calls").json()["calls"] == {"coincap": 1}
