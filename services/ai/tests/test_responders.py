"""The `ai.sentiment.score` responder answers every request, with an error object when the request is wrong.

The handler runs on the app's own event loop (through the test client's portal), as it does in service, and
through `Bus.answer`, which is what `Bus.serve` sends back for a request body."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from ai_service import responders
from ai_service.engine import AiEngine
from suite_shared.bus import Bus
from suite_shared.messages.ai import ScoreReply, ScoreRequest
from suite_shared.topics import AI_SENTIMENT_SCORE


def ask(client: TestClient, raw: Any) -> ScoreReply:
    engine = client.app.state.context.state  # type: ignore[attr-defined]
    assert isinstance(engine, AiEngine) and client.portal is not None

    async def handler(request: ScoreRequest) -> ScoreReply:
        return await responders.answer_sentiment(engine, request)

    return client.portal.call(Bus.answer, AI_SENTIMENT_SCORE, handler, orjson.dumps(raw))


@pytest.mark.parametrize("raw", [{"texts": []}, {"texts": [""]}, {"texts": ["x"] * 65}, {"texts": "not a list"}, 42])
def test_sentiment_responder_answers_bad_requests_with_validation_error(client: TestClient, raw: Any) -> None:
    reply = ask(client, raw)
    assert reply.error is not None and reply.error.code == "VALIDATION_ERROR" and reply.scores == []


def test_sentiment_responder_scores_a_batch_in_order(client: TestClient) -> None:
    texts = ["Stock falls as bank downgrades to sell", "Shares jump after earnings beat", "Meeting on Tuesday"]
    reply = ask(client, {"texts": texts})
    assert reply.error is None and len(reply.scores) == 3
    assert reply.scores[0].label == "negative" and reply.scores[1].label == "positive"
    assert reply.model == "sentiment" and reply.model_version
