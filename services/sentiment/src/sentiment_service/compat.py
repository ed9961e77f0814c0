"""The Dreammaker frontend's `GET /api/sentiment/asset/{symbol}` (deprecated; README "Compatibility with the
Dreammaker frontend"): GET /api/sentiment/symbol/{symbol}'s answer, from the same aggregates, with the label
also under the name that frontend reads (`sentiment_label`)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from suite_shared.compat import compat_route
from suite_shared.deps import Context
from suite_shared.envelope import ERROR_RESPONSES

from .routes import Label, SymbolSentimentResponse, symbol_sentiment
from .state import Sentiment

router = APIRouter()


class AssetSentimentResponse(SymbolSentimentResponse):
    sentiment_label: Label | None = Field(description="the same as `sentiment`")


@router.get(
    "/api/sentiment/asset/{symbol:path}",
    response_model=AssetSentimentResponse,
    responses=ERROR_RESPONSES,
    **compat_route("GET /api/sentiment/symbol/{symbol}"),
)
async def asset_sentiment(symbol: str, ctx: Context, state: Sentiment) -> AssetSentimentResponse:
    answer = await symbol_sentiment(symbol, ctx, state)
    return AssetSentimentResponse(**answer.model_dump(), sentiment_label=answer.sentiment)
