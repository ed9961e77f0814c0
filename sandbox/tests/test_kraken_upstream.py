"""The sandbox's Kraken imitation: Kraken's envelope, pair names and errors, over the shared market."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from upstream_sandbox.app import create_app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def test_ticker_is_keyed_by_krakens_pair_name(client: TestClient) -> None:
    body = client.get("/kraken/0/public/Ticker", params={"pair": "XBTUSD"}).json()
    assert body["error"] == [] and list(body["result"]) == ["XXBTZUSD"]
    row = body["result"]["XXBTZUSD"]
    assert set(row) == {"a", "b", "c", "v", "p", "t", "l", "h", "o"} and float(row["b"][0]) < float(row["a"][0])


def test_ohlc_rows_and_last(client: TestClient) -> None:
    result = client.get("/kraken/0/public/OHLC", params={"pair": "ETHUSDT", "interval": 60}).json()["result"]
    rows = result["ETHUSDT"]
    assert len(rows) == 720 and len(rows[0]) == 8 and isinstance(rows[0][0], int) and isinstance(rows[0][1], str)
    assert result["last"] == rows[-2][0]


def test_unknown_pair_is_krakens_error_with_http_200(client: TestClient) -> None:
    response = client.get("/kraken/0/public/Ticker", params={"pair": "SOLUSD"})
    assert response.status_code == 200 and response.json() == {"error": ["EQuery:Unknown asset pair"]}


def test_asset_pairs_are_the_recorded_list(client: TestClient) -> None:
    pairs = client.get("/kraken/0/public/AssetPairs").json()["result"]
    assert len(pairs) == 304 and pairs["XXBTZUSD"]["wsname"] == "XBT/USD"
