"""The upstream client's failure classes, retries, breaker and budget; the provider chain's fallback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from suite_shared.caller import CLIENT
from suite_shared.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from suite_shared.providers import Fetcher, ProviderChain, UpstreamRequest
from suite_shared.upstream import (
    Budget,
    BudgetExhausted,
    CircuitBreaker,
    CircuitOpen,
    ClientBudgetSpent,
    MalformedBody,
    UpstreamBlocked,
    UpstreamClient,
    UpstreamConfig,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamServerError,
    UpstreamTimedOut,
)


def client_for(handler: Any, retries: int = 0, breaker_failures: int = 5, budget: int = 100) -> UpstreamClient:
    client = UpstreamClient(
        None,
        timeout_s=1,
        retries=retries,
        backoff_s=0,
        breaker_failures=breaker_failures,
        transport=httpx.MockTransport(handler),
    )
    client.register(UpstreamConfig("up", "https://up.test/v1", budget=budget, api_key="k", api_key_param="key"))
    return client


@pytest.mark.parametrize(
    "response, failure",
    [
        (httpx.Response(500), UpstreamServerError),
        (httpx.Response(429), UpstreamRateLimited),
        (httpx.Response(418), UpstreamRateLimited),
        (httpx.Response(451), UpstreamBlocked),
        (httpx.Response(400, text="bad symbol"), UpstreamRejected),
        (httpx.Response(200, content=b"<html>"), MalformedBody),
    ],
)
async def test_statuses_and_bodies_map_to_failure_classes(response: httpx.Response, failure: type) -> None:
    client = client_for(lambda request: response)
    with pytest.raises(failure):
        await client.get_json("up", "/x")


async def test_timeouts_are_retried_then_classified() -> None:
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(UpstreamTimedOut):
        await client_for(handler, retries=2).get_json("up", "/x")
    assert len(attempts) == 3


async def test_base_url_path_and_api_key_param_are_joined() -> None:
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"ok": True})

    await client_for(handler).get_json("up", "/coins", {"a": 1, "none": None})
    assert str(seen[0]) == "https://up.test/v1/coins?a=1&key=k"


async def test_breaker_opens_after_consecutive_failures_and_stops_calls() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503)

    client = client_for(handler, breaker_failures=2)
    for _ in range(2):
        with pytest.raises(UpstreamServerError):
            await client.get_json("up", "/x")
    with pytest.raises(CircuitOpen):
        await client.get_json("up", "/x")
    assert len(calls) == 2


def test_breaker_half_opens_after_reset_time() -> None:
    breaker = CircuitBreaker("up", failures=1, reset_s=0.0)
    breaker.record_failure()
    assert breaker.state == "half_open" and breaker.allow() and not breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"


async def test_budget_is_spent_per_call_and_weight() -> None:
    client = client_for(lambda request: httpx.Response(200, json={}), budget=5)
    await client.get_json("up", "/x", weight=3)
    await client.get_json("up", "/x", weight=2)
    with pytest.raises(BudgetExhausted):
        await client.get_json("up", "/x")


class Echo(Fetcher[str, str]):
    upstream = "up"

    def __init__(self, client: UpstreamClient, name: str, only: str | None = None) -> None:
        super().__init__(client)
        self.name = name  # type: ignore[misc]
        self.only = only

    def supports(self, query: str) -> bool:
        return self.only is None or query == self.only

    def build_request(self, query: str) -> UpstreamRequest:
        return UpstreamRequest(f"/{self.name}/{query}")

    def transform(self, query: str, raw: Any) -> str:
        return str(raw["value"])


def chain_for(responses: dict[str, httpx.Response]) -> ProviderChain[str, str]:
    def handler(request: httpx.Request) -> httpx.Response:
        return responses[request.url.path.split("/")[2]]

    client = client_for(handler)
    return ProviderChain("thing", [Echo(client, "first"), Echo(client, "second"), Echo(client, "third", only="z")])


async def test_chain_falls_back_and_records_what_it_tried() -> None:
    chain = chain_for({"first": httpx.Response(500), "second": httpx.Response(200, json={"value": 7})})
    result = await chain.run("q")
    assert (result.value, result.source, result.sources_tried) == ("7", "second", ["first", "second"])


async def test_chain_treats_a_changed_body_shape_as_malformed_and_falls_back() -> None:
    chain = chain_for(
        {"first": httpx.Response(200, json={"other": 1}), "second": httpx.Response(200, json={"value": 1})}
    )
    assert (await chain.run("q")).source == "second"


async def test_chain_does_not_fall_back_on_a_meant_rejection() -> None:
    chain = chain_for({"first": httpx.Response(404, text="coin not found"), "second": httpx.Response(200, json={})})
    with pytest.raises(UpstreamError) as caught:
        await chain.run("q")
    assert caught.value.status == 502 and caught.value.details == {"sources_tried": ["first"], "status": 404}
    assert isinstance(caught.value.__cause__, UpstreamRejected)


@pytest.mark.parametrize(
    "first, second, error",
    [
        (httpx.Response(500), httpx.Response(429), UpstreamUnavailable),
        (httpx.Response(200, content=b"x"), httpx.Response(200, json=[]), UpstreamError),
    ],
)
async def test_chain_all_failing_raises_the_contract_error(
    first: httpx.Response, second: httpx.Response, error: type
) -> None:
    with pytest.raises(error) as caught:
        await chain_for({"first": first, "second": second}).run("q")
    assert caught.value.details["sources_tried"] == ["first", "second"]


async def test_chain_all_timing_out_is_504() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("no", request=request)

    client = client_for(handler)
    with pytest.raises(UpstreamTimeout):
        await ProviderChain("thing", [Echo(client, "first")]).run("q")


async def test_retries_spend_budget_too() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502)

    client = client_for(handler, retries=2, budget=2)
    with pytest.raises(BudgetExhausted):
        await client.get_json("up", "/x")


async def test_one_client_spends_at_most_its_share_of_a_budget_and_others_keep_theirs() -> None:
    config = UpstreamConfig("shared-api", "https://shared.test", budget=8)
    budget = Budget(config, None, client_share=0.25)  # two calls per client per window
    token = CLIENT.set("ip:203.0.113.1")
    try:
        assert await budget.spend(1, "ip:203.0.113.1") == 7
        assert await budget.spend(1, "ip:203.0.113.1") == 6
        with pytest.raises(ClientBudgetSpent) as spent:
            await budget.spend(1, "ip:203.0.113.1")
        assert spent.value.upstream == "shared-api" and 1 <= spent.value.retry_after_s <= 60
    finally:
        CLIENT.reset(token)
    assert await budget.spend(1, "ip:203.0.113.2") == 5  # the refused call was handed back
    assert await budget.spend(1, None) == 4  # work for no client is bounded by the budget alone
