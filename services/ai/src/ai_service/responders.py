"""The ai service's NATS request/reply endpoint, in queue group "ai": `ai.sentiment.score` (batched headline
sentiment for the news service). Requests of the wrong shape are answered with an error (see `Bus.serve`),
so a caller learns what was wrong instead of timing out.
"""

from __future__ import annotations

from suite_shared.errors import ValidationFailed
from suite_shared.messages.ai import ScoreReply, ScoreRequest
from suite_shared.topics import AI_SENTIMENT_SCORE

from .engine import AiEngine
from .models import check_texts


async def answer_sentiment(engine: AiEngine, request: ScoreRequest) -> ScoreReply:
    try:
        check_texts(request.texts)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    scores, model = await engine.score_texts(request.texts)
    return ScoreReply(scores=scores, model=model.name, model_version=model.version)


async def start(engine: AiEngine) -> None:
    """Answer `ai.sentiment.score` (called once NATS is connected)."""

    async def on_sentiment(request: ScoreRequest) -> ScoreReply:
        return await answer_sentiment(engine, request)

    await engine.ctx.bus.serve(AI_SENTIMENT_SCORE, on_sentiment)
