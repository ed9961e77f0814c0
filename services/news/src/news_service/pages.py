"""Pages of stories kept in memory for a moment, so a page asked for again is not read from Redis again.

A page is kept for `CACHE_TTL_NEWS_PAGE` seconds. This replica's own writes (new stories, scores, trims)
drop every kept page as they start and again when they end, which also ends every answer re-served from
them (suite_shared.response_cache compares the kept records by identity); another replica's writes are
seen when the page expires. Served pages are cache hits with the provenance they were read with (the
newest poll known then).
"""

from __future__ import annotations

from suite_shared.cache import CacheRecord, CacheResult, LocalStore
from suite_shared.envelope import now_ms
from suite_shared.metrics import CACHE_REQUESTS
from suite_shared.response_cache import note_read

from .store import NewsStore, Page

SOURCE = "news-aggregate"


class PageMemo:
    def __init__(self, store: NewsStore, ttl_s: float, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.records = LocalStore(max_bytes, max_items=1024)
        self.writes = 0
        store.on_write.append(self._written)

    def _written(self) -> None:
        self.writes += 1
        self.records.clear()

    async def page(
        self,
        limit: int,
        category: str,
        language: str,
        sentiment: str | None,
        source: str | None,
        sources_tried: list[str],
        polled_at: int,
    ) -> CacheResult:
        """The page, from memory when this replica read it within the TTL and wrote nothing since."""
        key = f"{limit}:{category}:{language}:{sentiment}:{source}"
        now = now_ms()
        record = self.records.get(key)
        if record is not None and record.is_fresh(now):
            result = CacheResult(record.value, "hit", record)
        else:
            writes = self.writes
            page: Page = await self.store.page(limit, category, language, sentiment, source)
            record = CacheRecord(page, SOURCE, sources_tried, polled_at, now, now + int(self.ttl_s * 1000))
            if writes == self.writes:  # a page read while this replica wrote may miss the write: not kept
                self.records.put(key, record, self.ttl_s, page.size + 256)
            result = CacheResult(page, "miss", record)
        CACHE_REQUESTS.labels("news", "page", result.status).inc()
        note_read(self.records, key, record, result.status, "news", "page")
        return result
