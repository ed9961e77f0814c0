"""One error tree for the API, translated to the contract's envelope at the boundary.

Domain code raises `ApiError` subclasses; `install_error_handlers` makes sure that FastAPI's own
`{"detail": ...}` bodies, Starlette's 404/405 pages and unexpected exceptions all leave as the
contract's error envelope, and that no traceback ever reaches a client.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .envelope import ErrorDetail, ErrorEnvelope, JSONBody
from .upstream import BudgetExhausted, CircuitOpen, ClientBudgetSpent, UpstreamFailure, UpstreamTimedOut

log = logging.getLogger(__name__)
MAX_PROBLEMS = 10  # validation problems listed in an error answer (their total is given too)


class ApiError(Exception):
    """An error with its place in the contract: HTTP status, code, message, details."""

    status = 500
    code = "INTERNAL_ERROR"

    def __init__(
        self, message: str, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = _json_safe(details or {})
        self.headers = headers or {}


def _json_safe(value: Any) -> Any:
    """Details as JSON can carry them: integers beyond 64 bits and non-finite floats (a client's extreme
    input quoted back) as text, containers walked; anything else as it is."""
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _printable(value)
    return value


class InvalidParameter(ApiError):
    status, code = 400, "INVALID_PARAMETER"


class Unauthorized(ApiError):
    status, code = 401, "UNAUTHORIZED"


class Forbidden(ApiError):
    status, code = 403, "FORBIDDEN"


class InvalidSymbol(ApiError):
    status, code = 404, "INVALID_SYMBOL"


class NotFound(ApiError):
    status, code = 404, "NOT_FOUND"


class MethodNotAllowed(ApiError):
    status, code = 405, "METHOD_NOT_ALLOWED"


class PayloadTooLarge(ApiError):
    status, code = 413, "PAYLOAD_TOO_LARGE"


class ValidationFailed(ApiError):
    status, code = 422, "VALIDATION_ERROR"


class RateLimited(ApiError):
    status, code = 429, "RATE_LIMITED"


class UpstreamError(ApiError):
    status, code = 502, "UPSTREAM_ERROR"


class UpstreamUnavailable(ApiError):
    status, code = 503, "UPSTREAM_UNAVAILABLE"


class ServiceUnavailable(ApiError):
    """The service itself cannot answer (e.g. a model failed to load); not an upstream's fault."""

    status, code = 503, "SERVICE_UNAVAILABLE"


class UpstreamTimeout(ApiError):
    status, code = 504, "UPSTREAM_TIMEOUT"


class InternalError(ApiError):
    status, code = 500, "INTERNAL_ERROR"


_STATUS_ERRORS: dict[int, type[ApiError]] = {
    cls.status: cls
    for cls in (
        InvalidParameter,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        PayloadTooLarge,
        ValidationFailed,
        RateLimited,
        UpstreamError,
        UpstreamUnavailable,
        UpstreamTimeout,
        InternalError,
    )
}


_CODED: list[type[ApiError]] = [*_STATUS_ERRORS.values(), InvalidSymbol, ServiceUnavailable]
_CODE_ERRORS: dict[str, type[ApiError]] = {cls.code: cls for cls in _CODED}


def error_for_code(code: str, message: str, details: dict[str, Any] | None = None) -> ApiError:
    """The contract's error for an error code another service answered with (INTERNAL_ERROR if unknown)."""
    return _CODE_ERRORS.get(code, InternalError)(message, details)


def error_for_status(status: int, message: str | None = None) -> ApiError:
    """The contract's error for a bare HTTP status (used for Starlette's errors and the gateway's)."""
    cls = _STATUS_ERRORS.get(status, InternalError if status >= 500 else InvalidParameter)
    error = cls(message or _default_message(status))
    error.status = status
    return error


def _default_message(status: int) -> str:
    return {
        404: "No such route. See /docs for the API.",
        405: "Method not allowed on this route.",
        429: "Too many requests. Retry after the time given in Retry-After.",
        502: "A backend service answered badly.",
        503: "The service is unavailable right now.",
        504: "A backend service timed out.",
    }.get(status, "Request failed.")


def error_response(error: ApiError) -> JSONBody:
    body = ErrorEnvelope(error=ErrorDetail(code=error.code, message=error.message, details=error.details))
    return JSONBody(body.model_dump(), status_code=error.status, headers=error.headers)


def upstream_error(failure: UpstreamFailure) -> ApiError:
    """An upstream failure that reached the boundary untranslated (outside a provider chain)."""
    details = {"source": failure.upstream, "reason": failure.reason}
    if isinstance(failure, UpstreamTimedOut):
        return UpstreamTimeout(f"{failure.upstream} timed out.", details)
    if isinstance(failure, (BudgetExhausted, CircuitOpen)):
        return UpstreamUnavailable(f"{failure.upstream} is not being called right now ({failure.reason}).", details)
    return UpstreamError(f"{failure.upstream} answered badly ({failure.reason}).", details)


def share_spent(spent: ClientBudgetSpent) -> ApiError:
    """A client that used its share of an upstream's budget: 429 for it, the budget stays for the others."""
    return RateLimited(
        f"This client has used its share of {spent.upstream}'s budget this window; cached data still answers.",
        {"source": spent.upstream, "reason": "client_budget_share", "retry_after_s": spent.retry_after_s},
        {"Retry-After": str(spent.retry_after_s)},
    )


def validation_error(exc: RequestValidationError) -> ApiError:
    """Bad query/path/header values are 400 INVALID_PARAMETER; a bad request body is 422 VALIDATION_ERROR.
    At most MAX_PROBLEMS problems are listed (and how many there were), so the answer stays small."""
    errors = exc.errors()
    problems = [
        {
            "location": ".".join(str(part) for part in err.get("loc", ())),
            "problem": err.get("msg", ""),
            "input": _printable(err.get("input")),
        }
        for err in errors[:MAX_PROBLEMS]
    ]
    in_body = any(str(err.get("loc", ("",))[0]) == "body" for err in errors)
    cls = ValidationFailed if in_body else InvalidParameter
    first = problems[0] if problems else {"location": "request", "problem": "invalid"}
    return cls(f"{first['location']}: {first['problem']}", {"errors": problems, "error_count": len(errors)})


def first_problem(exc: ValidationError) -> str:
    """The first thing wrong with a document, as `location: problem` (for NATS error replies and logs)."""
    errors = exc.errors()
    if not errors:
        return "invalid"
    location = ".".join(str(part) for part in errors[0]["loc"]) or "body"
    return f"{location}: {errors[0]['msg']}"


def _printable(value: Any) -> Any:
    """An offending input as the error answer can show it: short strings and JSON-safe numbers as they are
    (an integer beyond 64 bits, or a float that is not finite, as text), anything else left out."""
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:200] + "…"
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)[:200]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Translate every error a request can raise into the contract's envelope."""

    async def on_api_error(_: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_validation(_: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, RequestValidationError)
        return error_response(validation_error(exc))

    async def on_http(_: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code not in (404, 405) else None
        error = error_for_status(exc.status_code, message)
        error.headers = dict(exc.headers or {})
        return error_response(error)

    async def on_upstream(_: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, UpstreamFailure)
        return error_response(upstream_error(exc))

    async def on_share_spent(_: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, ClientBudgetSpent)
        return error_response(share_spent(exc))

    async def on_unexpected(request: Request, exc: Exception) -> JSONBody:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(InternalError("Internal error. It has been logged."))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(UpstreamFailure, on_upstream)
    app.add_exception_handler(ClientBudgetSpent, on_share_spent)
    app.add_exception_handler(Exception, on_unexpected)
