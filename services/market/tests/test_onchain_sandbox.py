"""The on-chain endpoints against the upstream sandbox, served in-process (skipped until it has these upstreams).

The sandbox's TestClient answers the market app's upstream calls through an httpx.MockTransport, so the
whole path (URLs, key parameters, the sandbox's formats and fault switches) runs without a network.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from market_service.app import create_app
from suite_shared.settings import Settings

SANDBOX_UPSTREAMS = ("etherscan", "blockchair", "mempool", "whale_alert")
if any(importlib.util.find_spec(f"upstream_sandbox.upstreams.{name}") is None for name in SANDBOX_UPSTREAMS):
    pytest.skip("the sandbox does not serve the on-chain upstreams yet", allow_module_level=True)

from upstream_sandbox.app import create_app as create_sandbox  # noqa: E402

ETH_ADDRESS = "0x3f5ce5fbfe3e9af3971dd833d26ba9b5c936f0be"
BTC_ADDRESS = "34xp4vRoCGJym3xR7yCVPFHoCNxv4Twseo"
TRANSACTION_FIELDS = {"hash", "timestamp", "from", "to", "value", "token", "status", "gas_used", "gas_price", "fee"}
ALERT_FIELDS = {
    "id",
    "timestamp",
    "hash",
    "from",
    "to",
    "from_owner",
    "to_owner",
    "amount",
    "token",
    "usd_value",
    "chain",
    "type",
}


@pytest.fixture
def sandbox() -> Iterator[TestClient]:
    with TestClient(create_sandbox()) as client:
        client.delete("/_sandbox/faults")
        yield client
        client.delete("/_sandbox/faults")  # the switches are process-wide


@pytest.fixture
def market(sandbox: TestClient) -> Iterator[TestClient]:
    def forward(request: httpx.Request) -> httpx.Response:
        answer = sandbox.request(request.method, request.url.path, params=request.url.params)
        return httpx.Response(
            answer.status_code, headers={"content-type": answer.headers.get("content-type", "")}, content=answer.content
        )

    base = "http://sandbox.test"
    settings = Settings(
        redis_url="redis://127.0.0.1:9/0",
        nats_url="nats://127.0.0.1:9",
        upstream_retries=0,
        data_source="sandbox",
        etherscan_base_url=f"{base}/etherscan/v2",
        etherscan_api_key="sandbox",
        blockchair_base_url=f"{base}/blockchair",
        mempool_base_url=f"{base}/mempool/api",
        whale_alert_base_url=f"{base}/whale-alert/v1",
        whale_alert_api_key="sandbox",
    )
    with TestClient(create_app(settings, transport=httpx.MockTransport(forward))) as client:
        yield client


def test_ethereum_history_from_the_sandbox_has_the_contract_shape(market: TestClient) -> None:
    response = market.get(f"/api/blockchain/transactions/{ETH_ADDRESS}?limit=5")
    body = response.json()
    assert response.status_code == 200, body
    assert body["chain"] == "ethereum" and body["meta"]["source"] == "etherscan"
    assert len(body["transactions"]) <= 5
    for tx in body["transactions"]:
        assert set(tx) == TRANSACTION_FIELDS and tx["token"] == "ETH"
        assert tx["status"] in ("success", "failed", "pending") and tx["value"] >= 0


def test_bitcoin_history_from_the_sandbox_has_the_contract_shape(market: TestClient) -> None:
    response = market.get(f"/api/blockchain/transactions/{BTC_ADDRESS}?chain=bitcoin&limit=5")
    body = response.json()
    assert response.status_code == 200, body
    assert body["meta"]["source"] == "blockchair"
    for tx in body["transactions"]:
        assert set(tx) == TRANSACTION_FIELDS and tx["token"] == "BTC" and tx["gas_price"] is None


def test_blockchair_outage_in_the_sandbox_falls_back_to_mempool(sandbox: TestClient, market: TestClient) -> None:
    sandbox.post("/_sandbox/faults", json={"upstream": "blockchair", "mode": "status", "status": 503})
    response = market.get(f"/api/blockchain/transactions/{BTC_ADDRESS}?chain=bitcoin&limit=5")
    body = response.json()
    assert response.status_code == 200, body
    assert body["meta"]["sources_tried"] == ["blockchair", "mempool"] and body["meta"]["source"] == "mempool"


def test_whale_alerts_from_the_sandbox_respect_the_threshold(market: TestClient) -> None:
    response = market.get("/api/blockchain/whale-alerts?min_value=1000000&limit=10")
    body = response.json()
    assert response.status_code == 200, body
    assert len(body["alerts"]) <= 10
    for alert in body["alerts"]:
        assert set(alert) == ALERT_FIELDS and alert["usd_value"] >= 1_000_000 and alert["from_owner"]
