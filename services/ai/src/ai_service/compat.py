"""The Dreammaker frontend's other spellings of ai endpoints (deprecated; README "Compatibility with the
Dreammaker frontend").

`POST /api/ai/decision` is the pair's current signal from GET /api/ai/signals (same function, same cache),
read as the frontend's decision; `GET /api/models/status` is GET /api/models.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from suite_shared.compat import compat_route
from suite_shared.deps import Context
from suite_shared.envelope import Envelope
from suite_shared.messages.ai import Signal

from .models import ModelsResponse, Timeframe
from .routes import RESPONSES, Engine, list_models, signals

router = APIRouter()


class DecisionRequest(BaseModel):
    symbol: str = Field(min_length=1, max_length=32, description="BTC, BTC/USDT, BTCUSDT, …")
    timeframe: Timeframe = "1h"


class DecisionResponse(Envelope):
    symbol: str
    timeframe: str
    decision: Literal["BUY", "SELL", "HOLD"] = Field(description="the signal's direction")
    confidence: float = Field(description="the signal's held-out-calibrated confidence, 0–1")
    signal: Signal


@router.post(
    "/api/ai/decision",
    response_model=DecisionResponse,
    responses=RESPONSES,
    **compat_route("GET /api/ai/signals", "The pair's current signal (`?symbol=`), as a decision."),
)
async def decision(engine: Engine, ctx: Context, body: DecisionRequest) -> DecisionResponse:
    answer = await signals(engine, ctx, symbol=body.symbol, timeframe=body.timeframe, min_confidence=0.0, limit=1)
    signal = answer.signals[0]  # one pair: its signal, or the error that kept it from being made
    return DecisionResponse(
        symbol=signal.symbol,
        timeframe=signal.timeframe,
        decision=signal.direction,
        confidence=signal.confidence,
        signal=signal,
        meta=answer.meta,
    )


@router.get("/api/models/status", response_model=ModelsResponse, responses=RESPONSES, **compat_route("GET /api/models"))
async def models_status(engine: Engine) -> ModelsResponse:
    return await list_models(engine)
