"""What the stream service's connections share, built at start-up (app.py) and given to endpoints typed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends

from suite_shared.deps import state_of
from suite_shared.service import ServiceContext

from .hub import Hub


@dataclass
class StreamService:
    ctx: ServiceContext
    hub: Hub
    streamed: frozenset[str]  # the pairs market channels carry (INGEST_SYMBOLS, canonical spelling)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


Stream = Annotated[StreamService, Depends(state_of(StreamService))]
