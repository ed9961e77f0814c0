"""The on-chain standard models: what every explorer or whale feed fills and the two routes return."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from suite_shared.envelope import Envelope

AddressChain = Literal["ethereum", "bsc", "polygon", "bitcoin"]
EvmChain = Literal["ethereum", "bsc", "polygon"]
TransactionStatus = Literal["success", "failed", "pending"]


class TransactionQuery(BaseModel):
    """One page of an address's history on one chain, newest first."""

    address: str
    chain: AddressChain
    limit: int = Field(50, ge=1, le=100)
    offset: int = Field(0, ge=0)


class OnchainTransaction(BaseModel):
    """A transaction seen from the queried address; amounts are in the chain's native unit (ETH, not wei)."""

    model_config = ConfigDict(populate_by_name=True)

    hash: str
    timestamp: int | None = Field(None, description="epoch ms of the block (or first seen); null if unknown")
    from_: str | None = Field(None, alias="from", description="sender; null when the source does not say")
    to: str | None = Field(None, description="recipient; null for a contract creation or when unknown")
    value: float = Field(description="native coin moved, in whole coins (ETH/BNB/POL/BTC), never wei/satoshi")
    token: str = Field(description="native coin symbol: ETH, BNB, POL (formerly MATIC) or BTC")
    status: TransactionStatus
    gas_used: int | None = Field(None, description="gas units consumed (EVM only; null for bitcoin)")
    gas_price: float | None = Field(None, description="gas price in gwei (EVM only; null for bitcoin)")
    fee: float | None = Field(None, description="fee paid, in the native coin (bitcoin's fee lives here)")


class TransactionsResponse(Envelope):
    address: str
    chain: AddressChain
    transactions: list[OnchainTransaction]


class WhaleQuery(BaseModel):
    """What the whale feed is asked for: transfers worth at least `min_value_usd` in the recent window."""

    min_value_usd: int = Field(ge=0)


class WhaleAlert(BaseModel):
    """One large transfer, with both sides labelled by owner where known."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    timestamp: int = Field(description="epoch ms")
    hash: str
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    from_owner: str = Field(description="exchange or entity name, or 'unknown'")
    to_owner: str = Field(description="exchange or entity name, or 'unknown'")
    amount: float = Field(description="units of `token` moved")
    token: str
    usd_value: float
    chain: str
    type: str = Field(description="transfer, mint, burn, lock, unlock, ...")


class WhaleAlertsResponse(Envelope):
    alerts: list[WhaleAlert]
