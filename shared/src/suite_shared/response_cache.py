"""Whole answers of cached reads, kept as encoded bytes and served again while what they were built from holds.

A route whose answer is a pure function of its request and of the cache records it read says so with
`reusable_answer(result)`. The middleware (innermost, after the API-key check and the request guards) then
keeps the encoded body it sent, keyed by path and query string, with the records it was built from. The
next identical GET is answered from those bytes — no routing, validation, dependency injection, model or
Redis round trip — as long as every one of those records is still the one in the in-process cache
(`LocalStore`, identity compared) and still fresh. Anything else falls through to the route, which builds a
new entry.

Provenance stays exact: the slow path would have answered the same request from the same fresh in-process
records, as a `hit`, so the fast path renders `meta` as a hit with the record's source and `as_of`, and
`age_ms` computed at send time; `timestamp` is the send time unless the route put the data's time there.
Misses, stale answers, coalesced waits and every refusal (429s, 413s, bad keys) stay on the slow path.
"""

from __future__ import annotations

import contextvars
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .envelope import now_ms
from .metrics import CACHE_REQUESTS, RESPONSE_CACHE_ANSWERS

if TYPE_CHECKING:
    from prometheus_client.metrics import Counter

    from .cache import CacheRecord, CacheResult, LocalStore

_TIMESTAMP = "\x00response-cache:timestamp\x00"
_META = "\x00response-cache:meta\x00"
_MARKS = {orjson.dumps(_TIMESTAMP): "timestamp", orjson.dumps(_META): "meta"}


@dataclass(frozen=True)
class Read:
    """One cache lookup a request made: where the record lives, under which key, and what it counts as
    (`cache_requests_total`'s namespace and kind)."""

    store: LocalStore
    key: str
    record: CacheRecord
    namespace: str
    kind: str


@dataclass
class Provenance:
    """What the route's `meta` says, minus what depends on the moment of sending."""

    source: str | None
    sources_tried: list[str]
    as_of: int
    timestamp_is_as_of: bool
    valid_until: int | None


@dataclass
class Reads:
    """What one request read from the cache, and whether its route declared the answer reusable."""

    reads: list[Read] = field(default_factory=list)
    reusable: bool = True  # cleared by a read that was not a fresh in-process record
    provenance: Provenance | None = None


_READS: contextvars.ContextVar[Reads | None] = contextvars.ContextVar("response_cache_reads", default=None)


def outside_requests() -> contextvars.Context:
    """The current context without a request's collection: for background work a request starts (a refresh
    ahead), whose own cache reads are not that request's answer."""
    context = contextvars.copy_context()
    context.run(_READS.set, None)
    return context


def note_read(store: LocalStore, key: str, record: CacheRecord, status: str, namespace: str, kind: str) -> None:
    """Called by the cache for every lookup answered while a request collects (a no-op otherwise)."""
    reads = _READS.get()
    if reads is None:
        return
    if status == "stale":
        reads.reusable = False
    reads.reads.append(Read(store, key, record, namespace, kind))


def reusable_answer(
    result: CacheResult, *, timestamp_is_as_of: bool = False, valid_until_ms: int | None = None
) -> None:
    """Declare the answer being built a pure function of the request and the cache reads made for it, with
    `result`'s provenance as its `meta`. `timestamp_is_as_of`: the body's `timestamp` is the data's time
    (`result.record.as_of`), not the time of sending. `valid_until_ms`: a bound of the route's own (a
    window that moves with the clock), on top of the records' freshness."""
    reads = _READS.get()
    if reads is None:
        return
    record = result.record
    reads.provenance = Provenance(
        record.source, list(record.sources_tried), record.as_of, timestamp_is_as_of, valid_until_ms
    )


@dataclass
class Entry:
    chunks: list[bytes | str]  # encoded pieces, and "timestamp" / "meta" where the moment of sending goes
    meta_head: bytes  # the encoded meta up to its age_ms value
    meta_tail: bytes
    as_of: int
    reads: tuple[Read, ...]
    hits: tuple[Counter, ...]  # what the slow path would count: a hit per read
    valid_until: int  # epoch ms; the earliest end of freshness of the reads and the route's own bound
    headers: list[tuple[bytes, bytes]]
    route: Any
    size: int
    # From then on one request is handed to the route, whose cache hit refreshes the record ahead (cache.py).
    refresh_at: int = 2**62
    refresh_handed: bool = False

    def still_valid(self, now_ms: int) -> bool:
        if now_ms >= self.valid_until:
            return False
        return all(read.store.get(read.key) is read.record for read in self.reads)

    def render(self, now_ms: int) -> bytes:
        meta = self.meta_head + str(max(0, now_ms - self.as_of)).encode() + self.meta_tail
        moment = str(now_ms).encode()
        return b"".join(
            chunk if isinstance(chunk, bytes) else meta if chunk == "meta" else moment for chunk in self.chunks
        )


class ResponseCache:
    """The process's entries: an LRU bounded in bytes (body size counted)."""

    def __init__(self, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[tuple[str, bytes], Entry] = OrderedDict()
        self._query_names: dict[int, frozenset[str] | None] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: tuple[str, bytes], now_ms: int) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if not entry.still_valid(now_ms):
            self._drop(key)
            return None
        if now_ms >= entry.refresh_at and not entry.refresh_handed:
            entry.refresh_handed = True
            return None
        self._entries.move_to_end(key)
        return entry

    def store(self, key: tuple[str, bytes], entry: Entry) -> None:
        if entry.size > self.max_bytes // 8:
            return
        self._drop(key)
        self._entries[key] = entry
        self.bytes += entry.size
        while self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[str, bytes]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry.size

    def admits(self, route: Any, query_string: bytes) -> bool:
        """Only queries made of the route's own parameters, each once, get an entry: unknown or repeated
        parameters would let a client fill the cache with copies of one answer."""
        names = self._query_names.get(id(route), ...)
        if names is ...:
            names = _query_names(route)
            self._query_names[id(route)] = names
        if names is None:
            return False
        given = [name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)]
        return len(given) == len(set(given)) and set(given) <= names


def _query_names(route: Any) -> frozenset[str] | None:
    """The query parameters a FastAPI route declares, its dependencies' included (None: not a FastAPI route)."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        names.update(param.alias for param in current.query_params)
        pending.extend(current.dependencies)
    return frozenset(names)


def build_entry(body: bytes, headers: list[tuple[bytes, bytes]], reads: Reads, route: Any) -> Entry | None:
    """The entry for an answer just sent, or None when it cannot be served again exactly."""
    provenance = reads.provenance
    if provenance is None or not reads.reusable or not reads.reads:
        return None
    if any(read.store.get(read.key) is not read.record for read in reads.reads):
        return None  # a record that is not (or no longer) the in-process one: nothing to check it against
    document = orjson.loads(body)
    meta = document.get("meta")
    if not isinstance(meta, dict) or meta.get("source") != provenance.source or meta.get("as_of") != provenance.as_of:
        return None
    if provenance.timestamp_is_as_of:
        if document.get("timestamp") != provenance.as_of:
            return None
    else:
        document["timestamp"] = _TIMESTAMP
    document["meta"] = _META
    chunks = _split(orjson.dumps(document))
    if chunks is None:
        return None
    head, _, tail = orjson.dumps(
        {
            "source": provenance.source,
            "sources_tried": provenance.sources_tried,
            "cache": "hit",
            "age_ms": 0,
            "stale": False,
            "as_of": provenance.as_of,
        }
    ).partition(b'"age_ms":0')
    bounds = [read.record.fresh_until for read in reads.reads if read.record.fresh_until]
    if provenance.valid_until is not None:
        bounds.append(provenance.valid_until)
    refresh_at = min((due for read in reads.reads if (due := read.record.refresh_from()) is not None), default=2**62)
    return Entry(
        chunks=chunks,
        meta_head=head + b'"age_ms":',
        meta_tail=tail,
        as_of=provenance.as_of,
        reads=tuple(reads.reads),
        hits=tuple(CACHE_REQUESTS.labels(read.namespace, read.kind, "hit") for read in reads.reads),
        valid_until=min(bounds, default=2**62),
        headers=[(name, value) for name, value in headers if name.lower() != b"content-length"],
        route=route,
        size=len(body) + 512,
        refresh_at=refresh_at,
        refresh_handed=now_ms() >= refresh_at,  # the request that built it went through the cache already
    )


def _split(encoded: bytes) -> list[bytes | str] | None:
    """The encoded body cut where the marks are; None if a mark is missing or appears twice."""
    chunks: list[bytes | str] = [encoded]
    for mark, name in _MARKS.items():
        if encoded.count(mark) > 1:
            return None
        cut: list[bytes | str] = []
        for chunk in chunks:
            if isinstance(chunk, bytes) and mark in chunk:
                before, _, after = chunk.partition(mark)
                cut += [before, name, after]
            else:
                cut.append(chunk)
        chunks = cut
    if sum(1 for chunk in chunks if isinstance(chunk, str)) != sum(1 for mark in _MARKS if mark in encoded):
        return None
    return chunks


class ResponseCacheMiddleware:
    """Pure ASGI: answers GETs from entries, and collects reads (to build entries) for the others."""

    def __init__(self, app: ASGIApp, cache: ResponseCache, service: str) -> None:
        self.app = app
        self.cache = cache
        self.answered = RESPONSE_CACHE_ANSWERS.labels(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope["query_string"])
        now = now_ms()
        entry = self.cache.lookup(key, now)
        if entry is not None:
            await self._answer(entry, now, scope, send)
            return
        await self._collect(key, scope, receive, send)

    async def _answer(self, entry: Entry, now: int, scope: Scope, send: Send) -> None:
        for hits in entry.hits:
            hits.inc()
        self.answered.inc()
        scope["route"] = entry.route  # the request metrics' route label
        body = entry.render(now)
        headers = [*entry.headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _collect(self, key: tuple[str, bytes], scope: Scope, receive: Receive, send: Send) -> None:
        reads = Reads()
        token = _READS.set(reads)
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        parts: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body" and reads.provenance is not None:
                parts.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, keep)
        finally:
            _READS.reset(token)
        route = scope.get("route")
        if status != 200 or reads.provenance is None or not self.cache.admits(route, scope["query_string"]):
            return
        entry = build_entry(b"".join(parts), headers, reads, route)
        if entry is not None:
            self.cache.store(key, entry)
