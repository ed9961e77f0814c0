"""On-chain endpoints against bodies in the upstreams' real formats (mocked at the HTTP edge)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from market_service.app import create_app
from suite_shared.settings import Settings

ETH_ADDRESS = "0x4b4276d6ae2c79064989d14dc6f03f33fa3cf8f7"
OTHER_EVM = "0x335d2d7a806243901172aa676ad36e0bbdf0bd01"
BTC_ADDRESS = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
BTC_OTHER = "1H4o9Mh7HyjPa46z4vtv7J8yzaK5RY4bXR"
COINBASE_1 = "71660c4005ba85c37ccec55d0c4493e66fe775d3"  # Whale Alert leaves the 0x off

Handler = Callable[[httpx.Request], httpx.Response]


def etherscan_row(**overrides: str) -> dict[str, str]:
    row = {
        "blockNumber": "14923678",
        "timeStamp": "1654646411",
        "hash": "0x" + "ab" * 32,
        "nonce": "7",
        "blockHash": "0x" + "cd" * 32,
        "transactionIndex": "61",
        "from": OTHER_EVM,
        "to": ETH_ADDRESS,
        "value": "1500000000000000000",
        "gas": "21000",
        "gasPrice": "30000000000",
        "isError": "0",
        "txreceipt_status": "1",
        "input": "0x",
        "contractAddress": "",
        "cumulativeGasUsed": "4127040",
        "gasUsed": "21000",
        "confirmations": "6123456",
        "methodId": "0x",
        "functionName": "",
    }
    return {**row, **overrides}


ETHERSCAN_OK = {
    "status": "1",
    "message": "OK",
    "result": [
        etherscan_row(),
        etherscan_row(hash="0x" + "ef" * 32, isError="1", txreceipt_status="0", value="0", gasUsed="50000"),
    ],
}
ETHERSCAN_EMPTY = {"status": "0", "message": "No transactions found", "result": []}
ETHERSCAN_RATE_LIMIT = {
    "status": "0",
    "message": "NOTOK",
    "result": "Max rate limit reached, please use API Key for higher rate limit",
}
ETHERSCAN_BAD_KEY = {"status": "0", "message": "NOTOK", "result": "Missing/Invalid API Key"}
ETHERSCAN_BAD_ADDRESS = {"status": "0", "message": "NOTOK", "result": "Error! Invalid address format"}

BLOCKCHAIR_CONTEXT = {
    "code": 200,
    "source": "D",
    "limit": "50,100",
    "offset": "0,0",
    "results": 1,
    "state": 850123,
    "request_cost": 1,
}
BLOCKCHAIR_BITCOIN = {
    "data": {
        BTC_ADDRESS: {
            "address": {"type": "witness_v0_keyhash", "balance": 12500, "transaction_count": 2},
            "transactions": [
                {"block_id": -1, "hash": "aa" * 32, "time": "2024-07-01 10:00:00", "balance_change": 2500},
                {"block_id": 849000, "hash": "bb" * 32, "time": "2024-06-30 12:00:00", "balance_change": -150000000},
            ],
            "utxo": [],
        }
    },
    "context": BLOCKCHAIR_CONTEXT,
}
BLOCKCHAIR_ETHEREUM = {
    "data": {
        ETH_ADDRESS: {
            "address": {"type": "account", "balance": "109371736221990928000", "call_count": 1},
            "calls": [
                {
                    "block_id": 10515001,
                    "transaction_hash": "0x73dadb5e9f421b27929bd633ca1dc8d189594951fee3a33cff013935782d16e5",
                    "index": "0",
                    "time": "2020-07-23 09:51:21",
                    "sender": OTHER_EVM,
                    "recipient": ETH_ADDRESS,
                    "value": 4900000000000000000,
                    "value_usd": 1291.7233,
                    "transferred": True,
                }
            ],
            "layer_2": {"erc_20": []},
        }
    },
    "context": BLOCKCHAIR_CONTEXT,
}


def esplora_tx(
    txid: str, spent_from_address: int, to_other: int, change: int, fee: int, confirmed: bool = True
) -> dict[str, Any]:
    """An Esplora transaction where BTC_ADDRESS spends `spent_from_address` sat to BTC_OTHER."""
    prevout = {
        "scriptpubkey": "0014",
        "scriptpubkey_asm": "OP_0",
        "scriptpubkey_type": "v0_p2wpkh",
        "scriptpubkey_address": BTC_ADDRESS,
        "value": spent_from_address,
    }
    status = (
        {"confirmed": True, "block_height": 840000, "block_hash": "00" * 32, "block_time": 1713571767}
        if confirmed
        else {"confirmed": False}
    )
    return {
        "txid": txid,
        "version": 2,
        "locktime": 0,
        "size": 222,
        "weight": 561,
        "fee": fee,
        "status": status,
        "vin": [
            {
                "txid": "cc" * 32,
                "vout": 0,
                "prevout": prevout,
                "scriptsig": "",
                "witness": ["30"],
                "is_coinbase": False,
                "sequence": 4294967293,
            }
        ],
        "vout": [
            {"scriptpubkey_type": "p2pkh", "scriptpubkey_address": BTC_OTHER, "value": to_other},
            {"scriptpubkey_type": "v0_p2wpkh", "scriptpubkey_address": BTC_ADDRESS, "value": change},
        ],
    }


def whale_tx(
    tx_id: str,
    chain: str,
    symbol: str,
    usd: float,
    timestamp: int,
    sender: dict[str, str],
    recipient: dict[str, str],
    amount: float = 1000.0,
) -> dict[str, Any]:
    return {
        "blockchain": chain,
        "symbol": symbol,
        "id": tx_id,
        "transaction_type": "transfer",
        "hash": "2084eca97be1468bfd9f937ad6921ecc6dd083fffe5c612247360e13918400c0",
        "from": sender,
        "to": recipient,
        "timestamp": timestamp,
        "amount": amount,
        "amount_usd": usd,
        "transaction_count": 1,
    }


NOW_S = int(time.time())
WHALE_BODY = {
    "result": "success",
    "cursor": "b9f81e6-b9f81e6-5d087cbf",
    "count": 3,
    "transactions": [
        whale_tx(
            "1",
            "ethereum",
            "eth",
            1794742.9,
            NOW_S - 600,
            {"address": "3f5ce5fbfe3e9af3971dd833d26ba9b5c936f0be", "owner": "binance", "owner_type": "exchange"},
            {"address": COINBASE_1, "owner_type": "unknown"},
        ),
        whale_tx(
            "2",
            "bitcoin",
            "btc",
            1268318.2,
            NOW_S - 300,
            {"address": "1JDknRvZTi5XdhQB3cgvJ9R8aogUvfbYUB", "owner_type": "unknown"},
            {"address": BTC_OTHER, "owner": "", "owner_type": "unknown"},
            amount=139.24574,
        ),
        whale_tx(
            "3",
            "tron",
            "usdt",
            600000.0,
            NOW_S - 100,
            {"address": "TXYZ", "owner_type": "unknown"},
            {"address": "TABC", "owner_type": "unknown"},
        ),
    ],
}


def make_client(handler: Handler) -> TestClient:
    # Redis at a closed port: the service runs degraded on its in-process cache.
    settings = Settings(
        redis_url="redis://127.0.0.1:9/0",
        nats_url="nats://127.0.0.1:9",
        upstream_retries=0,
        etherscan_base_url="https://es.test/v2",
        etherscan_api_key="es-key",
        blockchair_base_url="https://bc.test",
        mempool_base_url="https://mp.test/api",
        whale_alert_base_url="https://wa.test/v1",
        whale_alert_api_key="wa-key",
    )
    return TestClient(create_app(settings, transport=httpx.MockTransport(handler)))


def routed(**by_host: Any) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering per host (a body, a Response, or a callable) and recording every request."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = by_host[request.url.host.split(".")[0]]
        if callable(answer):
            answer = answer(request)
        return answer if isinstance(answer, httpx.Response) else httpx.Response(200, json=answer)

    return handler, seen


def get(handler: Handler, url: str) -> httpx.Response:
    with make_client(handler) as client:
        return client.get(url)


def test_ethereum_history_is_in_eth_and_gwei_with_failed_status() -> None:
    handler, seen = routed(es=ETHERSCAN_OK)
    body = get(handler, f"/api/blockchain/transactions/{ETH_ADDRESS.upper().replace('0X', '0x')}").json()
    params = seen[0].url.params
    assert seen[0].url.path == "/v2/api" and params["chainid"] == "1" and params["action"] == "txlist"
    assert params["apikey"] == "es-key" and params["sort"] == "desc" and params["offset"] == "50"
    assert body["success"] is True and body["address"] == ETH_ADDRESS and body["chain"] == "ethereum"
    first, failed = body["transactions"]
    assert first == {
        "hash": "0x" + "ab" * 32,
        "timestamp": 1654646411000,
        "from": OTHER_EVM,
        "to": ETH_ADDRESS,
        "value": 1.5,
        "token": "ETH",
        "status": "success",
        "gas_used": 21000,
        "gas_price": 30.0,
        "fee": pytest.approx(0.00063),
    }
    assert failed["status"] == "failed" and failed["value"] == 0.0
    assert body["meta"]["source"] == "etherscan" and body["meta"]["cache"] == "miss"


@pytest.mark.parametrize(
    ("chain", "chain_id", "token"), [("bsc", "56", "BNB"), ("polygon", "137", "POL"), ("MATIC", "137", "POL")]
)
def test_bsc_and_polygon_use_their_chain_id_and_native_coin(chain: str, chain_id: str, token: str) -> None:
    handler, seen = routed(es=ETHERSCAN_OK)
    body = get(handler, f"/api/blockchain/transactions/{ETH_ADDRESS}?chain={chain}").json()
    assert seen[0].url.params["chainid"] == chain_id
    assert body["transactions"][0]["token"] == token


def test_unaligned_offset_reads_one_wider_page_and_slices() -> None:
    rows = [etherscan_row(hash=f"0x{i:064x}") for i in range(5)]
    handler, seen = routed(es={"status": "1", "message": "OK", "result": rows})
    body = get(handler, f"/api/blockchain/transactions/{ETH_ADDRESS}?limit=2&offset=3").json()
    assert seen[0].url.params["page"] == "1" and seen[0].url.params["offset"] == "5"
    assert [tx["hash"] for tx in body["transactions"]] == [f"0x{3:064x}", f"0x{4:064x}"]


def test_no_transactions_found_is_an_empty_list() -> None:
    handler, _ = routed(es=ETHERSCAN_EMPTY)
    response = get(handler, f"/api/blockchain/transactions/{ETH_ADDRESS}")
    assert response.status_code == 200 and response.json()["transactions"] == []


def test_etherscan_rate_limit_falls_back_to_blockchair_for_ethereum() -> None:
    handler, seen = routed(es=ETHERSCAN_RATE_LIMIT, bc=BLOCKCHAIR_ETHEREUM)
    body = get(handler, f"/api/blockchain/transactions/{ETH_ADDRESS}").json()
    assert body["meta"]["source"] == "blockchair"
    assert body["meta"]["sources_tried"] == ["etherscan", "blockchair"]
    assert seen[1].url.path == f"/ethereum/dashboards/address/{ETH_ADDRESS}"
    assert body["transactions"] == [
        {
            "hash": "0x73dadb5e9f421b27929bd633ca1dc8d189594951fee3a33cff013935782d16e5",
            "timestamp": 1595497881000,
            "from": OTHER_EVM,
            "to": ETH_ADDRESS,
            "value": 4.9,
            "token": "ETH",
            "status": "success",
            "gas_used": None,
            "gas_price": None,
            "fee": None,
        }
    ]


@pytest.mark.parametrize("etherscan_body", [ETHERSCAN_RATE_LIMIT, ETHERSCAN_BAD_KEY])
def test_etherscan_refusal_without_fallback_is_a_503_envelope(etherscan_body: dict[str, str]) -> None:
    handler, _ = routed(es=etherscan_body)
    response = get(handler, f"/api/blockchain/transactions/{ETH_ADDRESS}?chain=bsc")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "UPSTREAM_UNAVAILABLE" and error["details"]["sources_tried"] == ["etherscan"]


def test_etherscan_invalid_address_result_is_our_400() -> None:
    handler, _ = routed(es=ETHERSCAN_BAD_ADDRESS)
    response = get(handler, f"/api/blockchain/transactions/{ETH_ADDRESS}?chain=polygon")
    assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_PARAMETER"


def test_bitcoin_history_from_blockchair_uses_balance_changes() -> None:
    handler, seen = routed(bc=BLOCKCHAIR_BITCOIN)
    body = get(handler, f"/api/blockchain/transactions/{BTC_ADDRESS}?chain=bitcoin&limit=10&offset=20").json()
    assert seen[0].url.path == f"/bitcoin/dashboards/address/{BTC_ADDRESS}"
    assert dict(seen[0].url.params) == {"limit": "10", "offset": "20", "transaction_details": "true"}
    pending, paid = body["transactions"]
    assert pending["status"] == "pending" and pending["to"] == BTC_ADDRESS and pending["value"] == 0.000025
    assert paid == {
        "hash": "bb" * 32,
        "timestamp": 1719748800000,
        "from": BTC_ADDRESS,
        "to": None,
        "value": 1.5,
        "token": "BTC",
        "status": "success",
        "gas_used": None,
        "gas_price": None,
        "fee": None,
    }
    assert body["meta"]["source"] == "blockchair"


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503),
        httpx.Response(430, json={"data": None}),
        httpx.Response(200, json={"data": None, "context": {"code": 200}}),
    ],
)
def test_blockchair_failure_falls_back_to_mempool(failure: httpx.Response) -> None:
    handler, _ = routed(bc=failure, mp=[esplora_tx("dd" * 32, 100_000, 60_000, 39_000, 1_000)])
    body = get(handler, f"/api/blockchain/transactions/{BTC_ADDRESS}?chain=bitcoin").json()
    assert body["meta"]["source"] == "mempool" and body["meta"]["sources_tried"] == ["blockchair", "mempool"]
    assert body["transactions"] == [
        {
            "hash": "dd" * 32,
            "timestamp": 1713571767000,
            "from": BTC_ADDRESS,
            "to": BTC_OTHER,
            "value": 0.00061,
            "token": "BTC",
            "status": "success",
            "gas_used": None,
            "gas_price": None,
            "fee": 0.00001,
        }
    ]


def test_mempool_follows_confirmed_pages_for_deeper_offsets() -> None:
    first = [esplora_tx(f"{i:064x}", 10, 5, 4, 1) for i in range(25)]
    second = [esplora_tx(f"{i:064x}", 10, 5, 4, 1) for i in range(25, 50)]

    def mempool(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=second if "/txs/chain/" in request.url.path else first)

    handler, seen = routed(bc=httpx.Response(500), mp=mempool)
    body = get(handler, f"/api/blockchain/transactions/{BTC_ADDRESS}?chain=bitcoin&limit=5&offset=24").json()
    assert seen[-1].url.path == f"/api/address/{BTC_ADDRESS}/txs/chain/{24:064x}"
    assert [tx["hash"] for tx in body["transactions"]] == [f"{i:064x}" for i in range(24, 29)]


def test_every_bitcoin_source_down_is_a_503_envelope_not_a_500() -> None:
    handler, _ = routed(bc=httpx.Response(502), mp=httpx.Response(503))
    response = get(handler, f"/api/blockchain/transactions/{BTC_ADDRESS}?chain=bitcoin")
    assert response.status_code == 503 and response.json()["success"] is False


@pytest.mark.parametrize(
    "url",
    [
        f"/api/blockchain/transactions/{ETH_ADDRESS}?chain=bitcoin",
        f"/api/blockchain/transactions/{BTC_ADDRESS}",
        f"/api/blockchain/transactions/{BTC_OTHER}?chain=bsc",
        "/api/blockchain/transactions/0x4b4276d6ae2c79064989d14dc6f03f33fa3cf8",
        "/api/blockchain/transactions/0x4b4276d6ae2c79064989d14dc6f03f33fa3cf8zz",
        "/api/blockchain/transactions/1H4o9Mh7HyjPa46z4vtv7J8yzaK5RY4b0?chain=bitcoin",
        "/api/blockchain/transactions/bc1qshort?chain=bitcoin",
        f"/api/blockchain/transactions/{ETH_ADDRESS}?chain=solana",
        f"/api/blockchain/transactions/{ETH_ADDRESS}?limit=0",
        f"/api/blockchain/transactions/{ETH_ADDRESS}?limit=101",
        f"/api/blockchain/transactions/{ETH_ADDRESS}?offset=-1",
        "/api/blockchain/whale-alerts?min_value=-1",
        "/api/blockchain/whale-alerts?chain=narnia",
        "/api/blockchain/whale-alerts?limit=0",
        "/api/blockchain/whale-alerts?limit=101",
    ],
)
def test_bad_parameters_are_400_envelopes_without_upstream_calls(url: str) -> None:
    handler, seen = routed()
    response = get(handler, url)
    body = response.json()
    assert response.status_code == 400 and body["success"] is False
    assert body["error"]["code"] == "INVALID_PARAMETER" and body["error"]["message"]
    assert seen == []


def test_bad_address_error_names_the_chain_it_looks_like() -> None:
    handler, _ = routed()
    details = get(handler, f"/api/blockchain/transactions/{ETH_ADDRESS}?chain=bitcoin").json()["error"]["details"]
    assert details["parameter"] == "address" and details["chain"] == "bitcoin" and "ethereum" in details["hint"]


def test_unknown_chain_error_lists_supported_chains() -> None:
    handler, _ = routed()
    details = get(handler, "/api/blockchain/whale-alerts?chain=narnia").json()["error"]["details"]
    assert "tron" in details["supported"] and details["parameter"] == "chain"


def test_whale_alerts_shape_labels_and_newest_first() -> None:
    handler, seen = routed(wa=WHALE_BODY)
    body = get(handler, "/api/blockchain/whale-alerts").json()
    params = seen[0].url.params
    assert seen[0].url.path == "/v1/transactions" and params["api_key"] == "wa-key"
    assert params["min_value"] == "500000" and params["limit"] == "100"  # always the plan's lowest threshold
    assert NOW_S - 3600 <= int(params["start"]) <= int(time.time())
    bitcoin, ethereum = body["alerts"]  # the $600k tron transfer is under the default $1M
    assert bitcoin["timestamp"] > ethereum["timestamp"]
    assert ethereum == {
        "id": "1",
        "timestamp": (NOW_S - 600) * 1000,
        "hash": "0x2084eca97be1468bfd9f937ad6921ecc6dd083fffe5c612247360e13918400c0",
        "from": "0x3f5ce5fbfe3e9af3971dd833d26ba9b5c936f0be",
        "to": f"0x{COINBASE_1}",
        "from_owner": "binance",
        "to_owner": "coinbase",
        "amount": 1000.0,
        "token": "ETH",
        "usd_value": 1794742.9,
        "chain": "ethereum",
        "type": "transfer",
    }
    assert bitcoin["from_owner"] == "unknown" and bitcoin["to_owner"] == "unknown" and bitcoin["token"] == "BTC"
    assert body["meta"]["source"] == "whale_alert"


def test_every_threshold_is_served_from_one_upstream_window_filtered_locally() -> None:
    handler, seen = routed(wa=WHALE_BODY)
    with make_client(handler) as client:
        low = client.get("/api/blockchain/whale-alerts?min_value=100").json()
        high = client.get("/api/blockchain/whale-alerts?min_value=1500000").json()
        others = [
            client.get(f"/api/blockchain/whale-alerts?min_value={value}") for value in range(600_000, 700_000, 500)
        ]
    assert len(seen) == 1 and seen[0].url.params["min_value"] == "500000"
    assert [alert["id"] for alert in low["alerts"]] == ["3", "2", "1"]
    assert [alert["id"] for alert in high["alerts"]] == ["1"]
    assert all(response.status_code == 200 for response in others)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", "1e14", "-1"])
def test_extreme_thresholds_are_400_before_any_upstream_call(value: str) -> None:
    handler, seen = routed(wa=WHALE_BODY)
    response = get(handler, f"/api/blockchain/whale-alerts?min_value={value}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_PARAMETER"
    assert seen == []


def test_whale_chain_filter_and_limit() -> None:
    handler, _ = routed(wa=WHALE_BODY)
    with make_client(handler) as client:
        tron = client.get("/api/blockchain/whale-alerts?min_value=0&chain=TRON").json()
        one = client.get("/api/blockchain/whale-alerts?min_value=0&limit=1").json()
    assert [alert["id"] for alert in tron["alerts"]] == ["3"]
    assert [alert["id"] for alert in one["alerts"]] == ["3"] and one["meta"]["cache"] == "hit"


def test_whale_feed_with_no_transactions_omits_the_list() -> None:
    handler, _ = routed(wa={"result": "success", "cursor": "0-0-0", "count": 0})
    assert get(handler, "/api/blockchain/whale-alerts").json()["alerts"] == []


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(401, json={"result": "error", "message": "invalid api_key"}),
        httpx.Response(200, json={"result": "error", "message": "missing api key"}),
        httpx.Response(429, json={"result": "error", "message": "usage limit reached"}),
    ],
)
def test_whale_feed_refusal_is_a_503_envelope(failure: httpx.Response) -> None:
    handler, _ = routed(wa=failure)
    response = get(handler, "/api/blockchain/whale-alerts")
    assert response.status_code == 503 and response.json()["error"]["code"] == "UPSTREAM_UNAVAILABLE"


def test_etherscan_http_refusal_falls_back_to_blockchair() -> None:
    handler, _ = routed(es=httpx.Response(403, text="Forbidden"), bc=BLOCKCHAIR_ETHEREUM)
    body = get(handler, f"/api/blockchain/transactions/{ETH_ADDRESS}").json()
    assert body["meta"]["sources_tried"] == ["etherscan", "blockchair"]


@pytest.mark.parametrize(("text", "status"), [("Invalid Bitcoin address", 400), ("Too many history entries", 503)])
def test_mempool_400_is_ours_only_when_it_calls_the_address_invalid(text: str, status: int) -> None:
    handler, _ = routed(bc=httpx.Response(500), mp=httpx.Response(400, text=text))
    assert get(handler, f"/api/blockchain/transactions/{BTC_ADDRESS}?chain=bitcoin").status_code == status
