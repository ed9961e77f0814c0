"""Provider adapters and the chain that falls back between them.

A provider is one small class per upstream and data type, in three steps (after OpenBB's fetchers):
turn our query into the upstream's request, fetch, transform the raw body into our model. A transform
that trips over the body's shape raises `MalformedBody`, so a changed upstream format falls back like an
outage. `ProviderChain` tries providers in order, records what it tried, and raises the contract's
502/503/504 when every one failed.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import ValidationError

from .errors import ApiError, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from .metrics import PROVIDER_FALLBACKS
from .upstream import MalformedBody, UpstreamClient, UpstreamFailure, UpstreamTimedOut

log = logging.getLogger(__name__)

QueryT = TypeVar("QueryT")
ResultT = TypeVar("ResultT")


@dataclass
class UpstreamRequest:
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    weight: int = 1


class Fetcher(ABC, Generic[QueryT, ResultT]):
    """One upstream's adapter for one data type."""

    name: ClassVar[str]  # what meta.source says, e.g. "coingecko"
    upstream: ClassVar[str]  # which registered upstream it calls (usually the same)

    def __init__(self, client: UpstreamClient) -> None:
        self.client = client

    def supports(self, query: QueryT) -> bool:
        """False when this provider cannot answer this query at all (e.g. a currency it lacks)."""
        return True

    @abstractmethod
    def build_request(self, query: QueryT) -> UpstreamRequest: ...

    @abstractmethod
    def transform(self, query: QueryT, raw: Any) -> ResultT: ...

    async def extract(self, query: QueryT) -> Any:
        request = self.build_request(query)
        return await self.client.get_json(self.upstream, request.path, request.params, request.weight)

    async def fetch(self, query: QueryT) -> ResultT:
        raw = await self.extract(query)
        try:
            return self.transform(query, raw)
        except (KeyError, IndexError, TypeError, ValueError, ValidationError) as exc:
            raise MalformedBody(self.upstream, f"unexpected body shape: {type(exc).__name__}: {exc}") from exc


@dataclass
class ChainResult(Generic[ResultT]):
    value: ResultT
    source: str
    sources_tried: list[str]


class ProviderChain(Generic[QueryT, ResultT]):
    """Try providers in order; fall back on failure classes that say 'try elsewhere'."""

    def __init__(self, kind: str, providers: Sequence[Fetcher[QueryT, ResultT]]) -> None:
        self.kind = kind
        self.providers = list(providers)

    async def run(self, query: QueryT) -> ChainResult[ResultT]:
        tried: list[str] = []
        failures: list[UpstreamFailure] = []
        for provider in self.providers:
            if not provider.supports(query):
                continue
            tried.append(provider.name)
            try:
                value = await provider.fetch(query)
            except UpstreamFailure as failure:
                if not failure.fallback:
                    # An upstream refused our request (a 4xx it meant). Adapters that know what such a refusal
                    # means for the client (an unknown symbol, say) translate it themselves before this point.
                    raise UpstreamError(
                        f"{provider.name} rejected the request.", {"sources_tried": tried, "status": failure.status}
                    ) from failure
                log.warning("%s: %s failed (%s), falling back", self.kind, provider.name, failure)
                PROVIDER_FALLBACKS.labels(self.kind, provider.name, failure.reason).inc()
                failures.append(failure)
                continue
            return ChainResult(value, provider.name, tried)
        raise all_failed(self.kind, tried, failures)


def all_failed(kind: str, tried: list[str], failures: list[UpstreamFailure]) -> ApiError:
    """The contract's error when no provider answered: 504 if all timed out, 502 if all answered badly."""
    details = {"sources_tried": tried, "failures": [{"source": f.upstream, "reason": f.reason} for f in failures]}
    if not tried:
        return UpstreamUnavailable(f"No provider can serve this {kind} request.", details)
    if failures and all(isinstance(f, UpstreamTimedOut) for f in failures):
        return UpstreamTimeout(f"Every source for {kind} timed out.", details)
    if failures and all(isinstance(f, MalformedBody) for f in failures):
        return UpstreamError(f"Every source for {kind} answered with an unusable body.", details)
    return UpstreamUnavailable(f"Every source for {kind} failed and nothing stale is cached.", details)
