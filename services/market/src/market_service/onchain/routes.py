"""GET /api/blockchain/transactions/{address} and GET /api/blockchain/whale-alerts (thin: parse, call, wrap)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from suite_shared.deps import Context
from suite_shared.envelope import ERROR_RESPONSES

from ..state import Market
from .addresses import ADDRESS_CHAINS
from .history import address_transactions, transaction_query
from .models import OnchainTransaction, TransactionsResponse, WhaleAlertsResponse
from .whales import UPSTREAM_QUERY, recent_whales, select_alerts, whale_chain

router = APIRouter(tags=["blockchain"])

# What any supported chain accepts; the chain's own rule is checked after (a bitcoin address on ethereum: 400).
ADDRESS_PATTERN = r"^(0[xX][0-9a-fA-F]{40}|[13][1-9A-HJ-NP-Za-km-z]{25,34}|[bB][cC]1[02-9ac-hj-np-zAC-HJ-NP-Z]{39,59})$"
MAX_USD = 1e13  # more than any transfer that ever happened; a larger threshold is surely a mistake
MAX_OFFSET = 10_000  # explorers page at most this deep (Etherscan: page × offset ≤ 10 000)


@router.get("/api/blockchain/transactions/{address}", response_model=TransactionsResponse, responses=ERROR_RESPONSES)
async def get_transactions(
    market: Market,
    ctx: Context,
    address: Annotated[
        str,
        Path(
            pattern=ADDRESS_PATTERN,
            description="0x + 40 hex (EVM chains) or a bitcoin base58/bech32 address; it must suit `chain`",
            examples=["0x28C6c06298d514Db089934071355E5743bf21d60"],
        ),
    ],
    chain: Annotated[
        str,
        Query(
            description="the chain the address is on (case-insensitive; `eth`, `btc` … aliases also accepted)",
            json_schema_extra={"enum": list(ADDRESS_CHAINS)},
        ),
    ] = "ethereum",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> TransactionsResponse:
    """Newest-first transactions of an address; `value` and `fee` in the chain's native coin."""
    query = transaction_query(address, chain, limit, offset)
    result = await address_transactions(ctx.cache, market.onchain.transactions, query)
    transactions = [OnchainTransaction.model_validate(row) for row in result.value]
    return TransactionsResponse(address=query.address, chain=query.chain, transactions=transactions, meta=result.meta())


@router.get("/api/blockchain/whale-alerts", response_model=WhaleAlertsResponse, responses=ERROR_RESPONSES)
async def get_whale_alerts(
    market: Market,
    ctx: Context,
    min_value: Annotated[
        float, Query(ge=0, le=MAX_USD, allow_inf_nan=False, description="minimum transfer value in USD")
    ] = 1_000_000,
    chain: Annotated[str | None, Query(description="bitcoin, ethereum, bsc, polygon, tron, ripple, ...")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> WhaleAlertsResponse:
    """Large transfers from about the last hour, newest first, with exchange owners labelled."""
    chain_filter = whale_chain(chain)
    result = await recent_whales(ctx.cache, market.onchain.whale_alerts, UPSTREAM_QUERY)
    return WhaleAlertsResponse(alerts=select_alerts(result.value, min_value, chain_filter, limit), meta=result.meta())
