"""Where the smoke tests send their requests: the gateway of the suite the tests start from the Procfile (as
`make run` does), or, with SUITE_TEST_TARGET=containers (`make test-containers`), the compose stack's."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from compose_stack import ComposeStack
from harness import Suite, containers_targeted


@pytest.fixture(scope="session")
def gateway_url(request: pytest.FixtureRequest) -> str:
    if containers_targeted():
        stack: ComposeStack = request.getfixturevalue("stack")
        return stack.gateway_url
    suite: Suite = request.getfixturevalue("suite")
    return suite.gateway_url


@pytest.fixture
def gateway(gateway_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway_url, timeout=15.0) as client:
        yield client
