"""Per-user rate limits on expensive actions (turns, voice uploads, KPI uploads, scoring actions),
counted in the cache.

Fixed one-minute windows with an atomic increment: cheap, shared across processes when the cache
is Redis, and good enough to stop a script from hammering the engines.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from .errors import ApplicationError


class RateLimited(ApplicationError):
    status_code = 429


# Words for limits that guard more than one entry point (a page and its API say the same thing).
KPI_UPLOAD_LIMITED = (
    "Too many KPI uploads in a minute: wait a moment, then upload the file again. Nothing from it was imported."
)
SCORING_LIMITED = "Too many score reviews in a minute: wait a moment and try again. Nothing was saved."


def _per_minute(rate: str) -> int:
    count, _, period = rate.partition("/")
    if period not in ("m", "min", "minute"):
        raise ValueError(f"rate {rate!r}: only per-minute rates are supported")
    return int(count)


def enforce(*, action: str, user_id: int, message: str) -> None:
    """Counts one `action` for the user; raises RateLimited once the minute's allowance is used."""
    allowed = _per_minute(settings.USER_RATE_LIMITS[action])
    window = int(time.time() // 60)
    key = f"limit:{action}:{user_id}:{window}"
    if cache.add(key, 1, timeout=70):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # the window expired between add() and incr()
            cache.add(key, 1, timeout=70)
            count = 1
    if count > allowed:
        raise RateLimited(message, code="rate_limited")


# --- one at a time ---------------------------------------------------------------------------------
# A claim marks work in flight (one customer reply per rep line) so a burst of identical requests
# makes one expensive call, not one each. It expires by itself, so a process that dies mid-call
# can't block the work for longer than `timeout` seconds.


def claim(key: str, *, timeout: int) -> bool:
    """True when this caller now holds `key`; False when someone else does."""
    return cache.add(f"claim:{key}", 1, timeout=timeout)


def release(key: str) -> None:
    cache.delete(f"claim:{key}")
