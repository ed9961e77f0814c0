"""Pages of stories kept in memory for a moment, so a page asked for again is not read from Redis again.

A page is kept for `CACHE_TTL_NEWS_PAGE` seconds under the store's write generation: this replica's own
writes (new stories, scores, trims) start a new generation at once; another replica's are seen when the
page expires. Served pages are cache hits with the provenance they were read with (the newest poll known
then), so their answers can be re-served whole (suite_shared.response_cache).
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
        key = f"{self.store.generation}:{limit}:{category}:{language}:{sentiment}:{source}"
        now = now_ms()
        record = self.records.get(key)
        if record is not None and record.is_fresh(now):
            result = CacheResult(record.value, "hit", record)
        else:
            page: Page = await self.store.page(limit, category, language, sentiment, source)
            record = CacheRecord(page, SOURCE, sources_tried, polled_at, now, now + int(self.ttl_s * 1000))
            self.records.put(key, record, self.ttl_s, page.size + 256)
            result = CacheResult(page, "miss", record)
        CACHE_REQUESTS.labels("news", "page", result.status).inc()
        note_read(self.records, key, record, result.status, "news", "page")
        return result
