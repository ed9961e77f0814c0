"""The hub's subscription map holds only what open connections follow."""

from __future__ import annotations

from stream_service.connection import Connection
from stream_service.hub import Hub


async def _ignore(*_: object) -> None:
    return None


async def test_keys_no_one_follows_any_more_are_dropped() -> None:
    hub, first, second = Hub(), Connection(_ignore, _ignore), Connection(_ignore, _ignore)
    named = tuple(f"COIN{index}/USDT" for index in range(50))  # news takes any well-formed asset
    hub.add(first, "news", named)
    hub.add(second, "news", ("COIN7/USDT",))
    hub.add(second, "ticker", ("BTC/USDT",))
    assert len(hub.subscribers) == 51

    hub.remove_all(first)
    assert hub.subscribers == {("news", "COIN7"): {second}, ("ticker", "BTC/USDT"): {second}}
    hub.remove(second, "news", ("COIN7/USDT",))
    hub.remove_all(second)
    assert hub.subscribers == {} and not second.subscriptions
