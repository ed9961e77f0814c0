"""NewsAPI v2 imitation: `GET /v2/everything` and `/v2/top-headlines` over the 100 real crypto articles.

An API key is required (`apiKey` or `X-Api-Key`), as NewsAPI requires it; errors use NewsAPI's
`{"status": "error", "code", "message"}`. Times are shifted so the newest article is ten minutes old.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..news_corpus import articles

PREFIX = "/newsapi"
router = APIRouter()


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "code": code, "message": message}, status_code=status)


def _matches(article: dict[str, Any], q: str | None) -> bool:
    if not q:
        return True
    text = f"{article['title']} {article.get('description') or ''} {article.get('content') or ''}".lower()
    terms = [term.strip('"').lower() for term in q.replace(" OR ", "|").split("|")]
    return any(all(word in text for word in term.split()) for term in terms if term)


async def _search(request: Request, q: str | None, language: str | None, page_size: int, page: int) -> Any:
    if not (request.query_params.get("apiKey") or request.headers.get("x-api-key")):
        return _error(
            401,
            "apiKeyMissing",
            "Your API key is missing. Append this to the URL with the apiKey param, or use the x-api-key HTTP header.",
        )
    if not 1 <= page_size <= 100:
        return _error(400, "parameterInvalid", "pageSize must be between 1 and 100.")
    if language not in (None, "en"):
        return {"status": "ok", "totalResults": 0, "articles": []}
    found = [article for article in articles() if _matches(article, q)]
    start = (max(page, 1) - 1) * page_size
    return {"status": "ok", "totalResults": len(found), "articles": found[start : start + page_size]}


@router.get("/v2/everything", response_model=None)
async def everything(
    request: Request,
    q: str | None = None,
    language: str | None = None,
    sortBy: str = "publishedAt",
    pageSize: int = 100,
    page: int = 1,
) -> Any:
    if not q and not request.query_params.get("sources") and not request.query_params.get("domains"):
        return _error(
            400,
            "parametersMissing",
            "Required parameters are missing, the scope of your search is too "
            "broad. Please set any of the following required parameters and try "
            "again: q, qInTitle, sources, domains.",
        )
    return await _search(request, q, language, pageSize, page)


@router.get("/v2/top-headlines", response_model=None)
async def top_headlines(
    request: Request, q: str | None = None, category: str | None = None, pageSize: int = 20, page: int = 1
) -> Any:
    return await _search(request, q, None, pageSize, page)
