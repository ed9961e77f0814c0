"""Pages kept in memory: read once per TTL, dropped by this replica's writes, never kept from a read that
overlapped a write."""

from __future__ import annotations

import asyncio
from typing import Any

from news_service.pages import PageMemo
from news_service.store import Page


class Store:
    """Stands in for NewsStore: counts page reads; `write()` runs the write callbacks as NewsStore does."""

    def __init__(self) -> None:
        self.on_write: list[Any] = []
        self.reads = 0
        self.delay_s = 0.0

    async def page(self, *args: Any) -> Page:
        self.reads += 1
        await asyncio.sleep(self.delay_s)
        return Page(total=self.reads, articles=[], size=10)

    async def write(self) -> None:
        for written in self.on_write:
            written()
        await asyncio.sleep(0.01)
        for written in self.on_write:
            written()


async def read(memo: PageMemo) -> tuple[str, int]:
    result = await memo.page(10, "all", "en", None, None, ["rss"], 1_000)
    return result.status, result.value.total


async def test_a_page_is_read_once_per_ttl_with_its_poll_time_as_provenance() -> None:
    store = Store()
    memo = PageMemo(store, ttl_s=0.2)  # type: ignore[arg-type]
    assert await read(memo) == ("miss", 1)
    assert await read(memo) == ("hit", 1)
    result = await memo.page(10, "all", "en", None, None, ["rss"], 1_000)
    assert (result.meta().as_of, result.meta().source, result.meta().sources_tried) == (
        1_000,
        "news-aggregate",
        ["rss"],
    )
    await asyncio.sleep(0.25)
    assert await read(memo) == ("miss", 2)


async def test_this_replicas_writes_drop_every_kept_page() -> None:
    store = Store()
    memo = PageMemo(store, ttl_s=60)  # type: ignore[arg-type]
    await read(memo)
    await store.write()
    assert await read(memo) == ("miss", 2)
    assert await read(memo) == ("hit", 2)


async def test_a_page_read_while_a_write_ran_is_served_but_not_kept() -> None:
    store = Store()
    memo = PageMemo(store, ttl_s=60)  # type: ignore[arg-type]
    store.delay_s = 0.05
    reading = asyncio.create_task(read(memo))
    await asyncio.sleep(0.01)
    await store.write()  # ends while the read is still waiting for Redis
    assert await reading == ("miss", 1)
    store.delay_s = 0
    assert await read(memo) == ("miss", 2)
