"""The on-chain upstreams and provider chains, registered and built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from suite_shared.providers import ProviderChain
from suite_shared.service import ServiceContext
from suite_shared.upstream import UpstreamConfig

from .models import OnchainTransaction, TransactionQuery, WhaleAlert, WhaleQuery
from .providers.blockchair import BlockchairBitcoin, BlockchairEthereum
from .providers.etherscan import EtherscanTransactions
from .providers.mempool import MempoolAddressTransactions
from .providers.whale_alert import WhaleAlertTransactions

WHALE_ALERT_FREE_PER_MIN = 10  # the free plan's documented request limit


@dataclass
class OnchainChains:
    transactions: ProviderChain[TransactionQuery, list[OnchainTransaction]]
    whale_alerts: ProviderChain[WhaleQuery, list[WhaleAlert]]


def register_upstreams(ctx: ServiceContext) -> None:
    """Explorers and the whale feed, each with its key (when configured) as the query parameter it expects."""
    settings, per_min = ctx.settings, ctx.settings.budgets.default_per_min
    ctx.upstreams.register(
        UpstreamConfig(
            "etherscan",
            settings.etherscan_base_url,
            budget=per_min,
            api_key=settings.etherscan_api_key,
            api_key_param="apikey",
        )
    )
    ctx.upstreams.register(
        UpstreamConfig(
            "blockchair",
            settings.blockchair_base_url,
            budget=per_min,
            api_key=settings.blockchair_api_key,
            api_key_param="key",
        )
    )
    ctx.upstreams.register(UpstreamConfig("mempool", settings.mempool_base_url, budget=per_min))
    ctx.upstreams.register(
        UpstreamConfig(
            "whale_alert",
            settings.whale_alert_base_url,
            budget=min(per_min, WHALE_ALERT_FREE_PER_MIN),
            api_key=settings.whale_alert_api_key,
            api_key_param="api_key",
        )
    )


def build_chains(ctx: ServiceContext) -> OnchainChains:
    """Address history: Etherscan for EVM chains (Blockchair behind it for ethereum), Blockchair then
    mempool.space for bitcoin; each fetcher's `supports` picks the ones that apply to a query's chain."""
    client = ctx.upstreams
    return OnchainChains(
        transactions=ProviderChain(
            "onchain_transactions",
            [
                EtherscanTransactions(client),
                BlockchairEthereum(client),
                BlockchairBitcoin(client),
                MempoolAddressTransactions(client),
            ],
        ),
        whale_alerts=ProviderChain("whale_alerts", [WhaleAlertTransactions(client)]),
    )
