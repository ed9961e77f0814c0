"""NATS responders answer every request, with an error object when the request is wrong.

The handlers run on the app's own event loop (through the test client's portal), as they do in service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from ai_service import responders
from ai_service.engine import AiEngine

Reply = TypeVar("Reply")


def call(client: TestClient, handler: Callable[[AiEngine, Any], Awaitable[Reply]], raw: Any) -> Reply:
    engine: AiEngine = client.app.state.engine  # type: ignore[attr-defined]
    assert client.portal is not None
    return client.portal.call(handler, engine, raw)


@pytest.mark.parametrize("raw", [{"texts": []}, {"texts": [""]}, {"texts": ["x"] * 65}, {"texts": "not a list"}, 42])
def test_sentiment_responder_answers_bad_requests_with_validation_error(client: TestClient, raw: Any) -> None:
    reply = call(client, responders.answer_sentiment, raw)
    assert reply.error is not None and reply.error.code == "VALIDATION_ERROR" and reply.scores == []


def test_sentiment_responder_scores_a_batch_in_order(client: TestClient) -> None:
    texts = ["Stock falls as bank downgrades to sell", "Shares jump after earnings beat", "Meeting on Tuesday"]
    reply = call(client, responders.answer_sentiment, {"texts": texts})
    assert reply.error is None and len(reply.scores) == 3
    assert reply.scores[0].label == "negative" and reply.scores[1].label == "positive"
    assert reply.model == "sentiment" and reply.model_version


def test_predict_responder_returns_a_prediction_or_the_contract_error(client: TestClient) -> None:
    good = call(client, responders.answer_predict, {"symbol": "ETH", "horizon": 6})
    assert good.prediction is not None and len(good.prediction.predictions) == 6
    too_far = call(client, responders.answer_predict, {"symbol": "BTC", "horizon": 500})
    unknown = call(client, responders.answer_predict, {"symbol": "NOPE"})
    assert too_far.error is not None and too_far.error.code == "INVALID_PARAMETER"  # beyond the trained 1…168
    assert unknown.error is not None and unknown.error.code == "INVALID_SYMBOL"
