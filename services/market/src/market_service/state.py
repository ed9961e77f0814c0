"""What the market service's routes share, built at start-up (app.py) and given to routes typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from suite_shared.deps import state_of

from .chains import MarketChains
from .ingest.worker import IngestWorker
from .onchain.chains import OnchainChains


@dataclass
class MarketState:
    chains: MarketChains
    onchain: OnchainChains
    ingest: IngestWorker | None  # None when INGEST_ENABLED is false


Market = Annotated[MarketState, Depends(state_of(MarketState))]
