"""FastAPI dependencies as `Annotated` aliases, so routes declare what they use in one word.

`Context` is the shared service context; a service's own state (what its setup returned) comes typed
through `state_of`: `Market = Annotated[MarketState, Depends(state_of(MarketState))]`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends
from starlette.requests import HTTPConnection

from .service import ServiceContext

StateT = TypeVar("StateT")


# Dependencies are coroutines: FastAPI runs a plain function dependency in its thread pool, a thread hop per
# request that cost a cached answer more than the answer itself.


async def get_context(connection: HTTPConnection) -> ServiceContext:
    """The service context, for HTTP and WebSocket endpoints alike."""
    context: ServiceContext = connection.app.state.context
    return context


Context = Annotated[ServiceContext, Depends(get_context)]


def state_of(kind: type[StateT]) -> Callable[[HTTPConnection], Awaitable[StateT]]:
    """A dependency giving the service's own state, checked to be a `kind`."""

    async def get_state(connection: HTTPConnection) -> StateT:
        state = (await get_context(connection)).state
        if not isinstance(state, kind):
            raise TypeError(f"the service's state is {type(state).__name__}, not {kind.__name__}")
        return state

    return get_state


async def is_admin(connection: HTTPConnection) -> bool:
    """Whether the request presented an admin key (verified by ApiKeyMiddleware; see keys.py)."""
    key = connection.scope.get("state", {}).get("api_key")
    return (await get_context(connection)).settings.key_ring().is_admin(key)


AdminCaller = Annotated[bool, Depends(is_admin)]
