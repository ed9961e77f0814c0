"""The sandbox's explorer and whale-feed imitations: formats, errors, determinism, free-plan rules."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from upstream_sandbox import chain_synth
from upstream_sandbox.app import create_app

EVM = "0x52908400098527886E0F7030069857D2E4169EE7"
BTC = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
ETHERSCAN_FIELDS = {
    "blockNumber",
    "timeStamp",
    "hash",
    "nonce",
    "blockHash",
    "transactionIndex",
    "from",
    "to",
    "value",
    "gas",
    "gasPrice",
    "isError",
    "txreceipt_status",
    "input",
    "contractAddress",
    "cumulativeGasUsed",
    "gasUsed",
    "confirmations",
    "methodId",
    "functionName",
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def txlist(client: TestClient, address: str, **params: object) -> dict[str, object]:
    query = {
        "chainid": 1,
        "module": "account",
        "action": "txlist",
        "address": address,
        "page": 1,
        "offset": 5,
        "sort": "desc",
        "apikey": "k",
        **params,
    }
    body: dict[str, object] = client.get("/etherscan/v2/api", params=query).json()
    return body


def test_etherscan_rows_are_strings_newest_first_and_deterministic(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows are placed relative to now (whole seconds): pin the clock so both calls see the same second.
    frozen = int(time.time() * 1000)
    monkeypatch.setattr(chain_synth, "now_ms", lambda: frozen)
    body = txlist(client, EVM)
    rows = body["result"]
    assert body["status"] == "1" and isinstance(rows, list) and len(rows) == 5
    assert set(rows[0]) == ETHERSCAN_FIELDS and all(isinstance(value, str) for value in rows[0].values())
    stamps = [int(row["timeStamp"]) for row in rows]
    assert stamps == sorted(stamps, reverse=True) and time.time() - stamps[0] < 3700
    assert txlist(client, EVM) == body


def test_etherscan_errors_are_http_200_with_status_0(client: TestClient) -> None:
    assert txlist(client, "0x123")["result"] == "Error! Invalid address format"
    empty = txlist(client, "0x" + "1" * 36 + "0000")
    assert empty == {"status": "0", "message": "No transactions found", "result": []}


def test_blockchair_bitcoin_and_ethereum_dashboards(client: TestClient) -> None:
    bitcoin = client.get(f"/blockchair/bitcoin/dashboards/address/{BTC}", params={"limit": 3}).json()
    entry = bitcoin["data"][BTC]
    assert set(entry) == {"address", "transactions", "utxo"} and len(entry["transactions"]) == 3
    assert isinstance(entry["transactions"][0]["balance_change"], int) and bitcoin["context"]["code"] == 200
    ethereum = client.get(f"/blockchair/ethereum/dashboards/address/{EVM}", params={"limit": 2}).json()
    assert {"transaction_hash", "sender", "recipient", "value"} <= set(ethereum["data"][EVM]["calls"][0])
    bad = client.get("/blockchair/bitcoin/dashboards/address/nope")
    assert bad.status_code == 400 and bad.json()["context"]["error"]


def test_mempool_esplora_format_and_invalid_address_text(client: TestClient) -> None:
    txs = client.get(f"/mempool/api/address/{BTC}/txs").json()
    assert {"txid", "vin", "vout", "fee", "status"} <= set(txs[0]) and len(txs) <= 25
    assert all(tx["status"]["confirmed"] for tx in txs[1:])
    bad = client.get("/mempool/api/address/xyz/txs")
    assert bad.status_code == 400 and bad.text == "Invalid Bitcoin address"


def test_whale_alert_replays_within_the_free_plan(client: TestClient) -> None:
    now = int(time.time())
    body = client.get(
        "/whale-alert/v1/transactions", params={"api_key": "k", "start": now - 3500, "min_value": 1_000_000}
    ).json()
    assert body["result"] == "success" and body["count"] == len(body["transactions"]) > 0
    assert all(tx["amount_usd"] >= 1_000_000 and now - 3600 <= tx["timestamp"] <= now for tx in body["transactions"])
    assert {"binance", "coinbase", "kraken"} & {tx["from"].get("owner") for tx in body["transactions"]}


@pytest.mark.parametrize(
    "params, status",
    [
        ({"start": 1}, 401),
        ({"api_key": "k"}, 400),
        ({"api_key": "k", "start": 1}, 400),
        ({"api_key": "k", "start": 10**10, "min_value": 10}, 400),
    ],
)
def test_whale_alert_errors(client: TestClient, params: dict[str, object], status: int) -> None:
    response = client.get("/whale-alert/v1/transactions", params=params)
    assert response.status_code == status and response.json()["result"] == "error"
