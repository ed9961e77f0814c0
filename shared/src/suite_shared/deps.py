"""FastAPI dependencies as `Annotated` aliases, so routes declare what they use in one word."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .service import ServiceContext


def get_context(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


Context = Annotated[ServiceContext, Depends(get_context)]
