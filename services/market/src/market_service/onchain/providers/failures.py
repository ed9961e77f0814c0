"""How explorers' refusals map onto the shared failure classes, so a chain falls back instead of erroring.

Explorers often answer a 4xx (or even a 200 with an error body) for conditions that are not the client's
fault: a missing or invalid API key, a spent plan, a ban. Those become failures with `fallback` set; only a
refusal of the address itself becomes the client's 400.
"""

from __future__ import annotations

from suite_shared.errors import InvalidParameter
from suite_shared.upstream import UpstreamFailure, UpstreamRateLimited, UpstreamRejected


class ApiKeyRejected(UpstreamFailure):
    """The upstream refused our credentials or plan (missing/invalid key, chain not in the plan)."""

    reason = "auth"


class UpstreamRefused(UpstreamFailure):
    """Any other refusal we cannot attribute to the client: try the next source."""

    reason = "refused"


# Blockchair uses 402 (over the plan's limit) and 430 (banned for exceeding it) besides the usual 429.
RATE_LIMIT_STATUSES = frozenset({402, 429, 430})
AUTH_STATUSES = frozenset({401, 403})


def reclassify(failure: UpstreamRejected, address: str | None = None) -> Exception:
    """Turn an upstream 4xx into the client's 400 (an address the explorer calls invalid) or a failure the
    chain can fall back on (Esplora also answers 400 for addresses with too much history, for instance)."""
    if failure.status == 400 and address is not None and "invalid" in str(failure).lower():
        return InvalidParameter(
            f"The explorer rejected address {address!r}.",
            {
                "parameter": "address",
                "address": address,
                "upstream": failure.upstream,
                "upstream_message": str(failure)[:300],
            },
        )
    if failure.status in AUTH_STATUSES:
        return ApiKeyRejected(failure.upstream, str(failure), failure.status)
    if failure.status in RATE_LIMIT_STATUSES:
        return UpstreamRateLimited(failure.upstream, str(failure), failure.status, failure.retry_after_s)
    return UpstreamRefused(failure.upstream, str(failure), failure.status)
