"""What every service checks before its routes: the body limit (413 in the contract's envelope, nothing
larger ever buffered), capped validation answers, API keys read one way only, and who the client is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel

from suite_shared.caller import current_client
from suite_shared.keys import client_id
from suite_shared.service import create_service_app
from suite_shared.settings import Settings

router = APIRouter()


class Numbers(BaseModel):
    values: list[int]


@router.post("/numbers")
async def numbers(body: Numbers) -> dict[str, int]:
    return {"count": len(body.values)}


class Words(BaseModel):
    values: list[str]


@router.post("/words")
async def words(body: Words) -> dict[str, int]:
    return {"count": len(body.values)}


@router.get("/whoami")
async def whoami() -> dict[str, str | None]:
    return {"client": current_client()}


def client_for(**settings: str) -> Iterator[TestClient]:
    configured = Settings(
        redis_url="redis://127.0.0.1:9/0", nats_url="nats://127.0.0.1:9", request_body_max_bytes=4096, **settings
    )
    with TestClient(create_service_app("test", configured, routers=[router])) as client:
        yield client


@pytest.fixture
def open_service() -> Iterator[TestClient]:
    yield from client_for()


@pytest.fixture
def keyed_service() -> Iterator[TestClient]:
    yield from client_for(api_keys="alpha,beta", admin_api_keys="root")


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(open_service: TestClient) -> None:
    response = open_service.post(
        "/numbers", content=b"{" + b" " * 5000 + b"}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "PAYLOAD_TOO_LARGE",
        "message": "Request bodies are limited to 4096 bytes.",
        "details": {"max_bytes": 4096},
    }


def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives(open_service: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"values": ['
        for _ in range(2000):
            yield b"1, "
        yield b"1]}"

    response = open_service.post("/numbers", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_validation_answer_shows_inputs_beyond_64_bits_as_text(open_service: TestClient) -> None:
    body = b'{"values": [-57233473355570151424, 1e999]}'  # what schemathesis sent (ints beyond int64 broke orjson)
    response = open_service.post("/words", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    inputs = [problem["input"] for problem in response.json()["error"]["details"]["errors"]]
    assert inputs == ["-57233473355570151424", "inf"]


def test_validation_answers_list_at_most_ten_problems_and_say_how_many(open_service: TestClient) -> None:
    response = open_service.post("/numbers", json={"values": ["x"] * 500})
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert len(details["errors"]) == 10 and details["error_count"] == 500
    assert len(response.content) < 3000


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 200),
        ({"X-API-Key": "alpha"}, 200),
        ({"Authorization": "Bearer beta"}, 200),
        ({"Authorization": "bearer root"}, 200),
        ({"X-API-Key": "gamma"}, 401),
        ({"Authorization": "Bearer\tbeta"}, 400),
        ({"X-API-Key": "alpha", "Authorization": "Bearer beta"}, 400),
        ({"X-API-Key": "al pha"}, 400),
    ],
)
def test_keys_are_read_one_way_only(keyed_service: TestClient, headers: dict[str, str], status: int) -> None:
    assert keyed_service.get("/whoami", headers=headers).status_code == status


def test_without_configured_keys_key_headers_are_ignored(open_service: TestClient) -> None:
    assert open_service.get("/whoami", headers={"X-API-Key": "anything at all"}).status_code == 200


def test_the_client_is_the_verified_key_else_the_forwarded_address_else_the_peer(open_service: TestClient) -> None:
    assert open_service.get("/whoami").json() == {"client": "ip:testclient"}
    forwarded = {"X-Forwarded-For": "203.0.113.7, 127.0.0.1"}
    assert open_service.get("/whoami", headers=forwarded).json() == {"client": "ip:203.0.113.7"}
    verified = {**forwarded, "X-Client-Id": client_id("alpha")}
    assert open_service.get("/whoami", headers=verified).json() == {"client": client_id("alpha")}
