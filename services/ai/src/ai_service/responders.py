"""NATS request-reply services in queue group "ai": `ai.sentiment.score` and `ai.predict`.

Requests of the wrong shape are answered with an error object (never dropped), so a caller learns what
was wrong instead of timing out.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import RootModel, ValidationError

from suite_shared.errors import ApiError
from suite_shared.events import RequestError
from suite_shared.subjects import AI_PREDICT, AI_SENTIMENT_SCORE

from .engine import AiEngine
from .models import PredictReply, PredictRequest, SentimentScoreReply, SentimentScoreRequest, check_texts

log = logging.getLogger(__name__)
QUEUE_GROUP = "ai"


class AnyJson(RootModel[Any]):
    """Any JSON document: validation happens in the handler so errors can be answered."""


async def answer_sentiment(engine: AiEngine, raw: Any) -> SentimentScoreReply:
    try:
        request = SentimentScoreRequest.model_validate(raw)
        check_texts(request.texts)
        scores, model = await engine.score_texts(request.texts)
    except (ValidationError, ValueError) as exc:
        return SentimentScoreReply(error=RequestError(code="VALIDATION_ERROR", message=_message(exc)))
    except ApiError as exc:
        return SentimentScoreReply(error=RequestError(code=exc.code, message=exc.message))
    except Exception:
        log.exception("ai.sentiment.score failed")
        return SentimentScoreReply(error=RequestError(code="INTERNAL_ERROR", message="Internal error."))
    return SentimentScoreReply(scores=scores, model=model.name, model_version=model.version)


async def answer_predict(engine: AiEngine, raw: Any) -> PredictReply:
    try:
        request = PredictRequest.model_validate(raw)
        prediction, _ = await engine.predict(request.symbol, request.timeframe, request.horizon)
    except ValidationError as exc:
        return PredictReply(error=RequestError(code="VALIDATION_ERROR", message=_message(exc)))
    except ApiError as exc:
        return PredictReply(error=RequestError(code=exc.code, message=exc.message))
    except Exception:
        log.exception("ai.predict failed")
        return PredictReply(error=RequestError(code="INTERNAL_ERROR", message="Internal error."))
    return PredictReply(prediction=prediction)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(part) for part in first['loc']) or 'body'}: {first['msg']}"
    return str(exc)


async def start(engine: AiEngine) -> None:
    """Subscribe both responders (called once NATS is connected)."""

    async def on_sentiment(payload: AnyJson) -> SentimentScoreReply:
        return await answer_sentiment(engine, payload.root)

    async def on_predict(payload: AnyJson) -> PredictReply:
        return await answer_predict(engine, payload.root)

    await engine.ctx.bus.serve(AI_SENTIMENT_SCORE, AnyJson, on_sentiment, queue=QUEUE_GROUP)
    await engine.ctx.bus.serve(AI_PREDICT, AnyJson, on_predict, queue=QUEUE_GROUP)
