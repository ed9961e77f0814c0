"""What the news service's routes share, built at start-up (app.py) and given to routes typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from suite_shared.deps import state_of
from suite_shared.rebuild import StreamRebuild

from .ingest import Ingestor
from .outbox import Relay
from .pages import PageMemo
from .scoring import Scorer
from .store import NewsStore


@dataclass
class NewsState:
    store: NewsStore
    ingestor: Ingestor
    scorer: Scorer
    relay: Relay
    rebuilder: StreamRebuild
    pages: PageMemo


News = Annotated[NewsState, Depends(state_of(NewsState))]
