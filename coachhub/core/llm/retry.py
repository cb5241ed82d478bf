"""Our own retries with backoff (the SDK's are off), honoring Retry-After up to a cap."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .config import LLMConfig
from .errors import LLMError, LLMRateLimited, classify_error

logger = logging.getLogger(__name__)

T = TypeVar("T")


# --- retries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryNotice:
    """Told to ``on_retry`` before each wait: which retry (1-based), why, and for how long."""

    retry: int
    error: LLMError
    delay_s: float


def retry_delay(
    error: LLMError, retry: int, config: LLMConfig, *, rng: random.Random | None = None
) -> float | None:
    """Seconds to wait before retry number ``retry`` (1-based), or None when we shouldn't retry."""
    if not error.retryable or retry > config.max_retries:
        return None
    if isinstance(error, LLMRateLimited) and error.retry_after_s is not None:
        # The server said when; waiting less just earns another 429, waiting past the cap
        # keeps a rep staring at a spinner, so give up and let them retry by hand.
        return error.retry_after_s if error.retry_after_s <= config.max_retry_wait_s else None
    step = config.backoff_s * 2 ** (retry - 1)
    # "Equal jitter": at least half the step so retries still back off, the rest random so
    # many sessions failing together don't retry in lockstep.
    jittered = step / 2 + (rng or random).uniform(0, step / 2)
    return min(jittered, config.max_retry_wait_s)


def with_retries(
    call: Callable[[], T],
    *,
    config: LLMConfig,
    on_retry: Callable[[RetryNotice], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``call()``, retried on transient failures; raises the classified LLMError when it gives up."""
    retry = 0
    while True:
        try:
            return call()
        except Exception as exc:
            error = classify_error(exc, config=config)
            retry += 1
            delay = retry_delay(error, retry, config)
            if delay is None:
                raise error from exc
            _note_retry(RetryNotice(retry=retry, error=error, delay_s=delay), on_retry)
            sleep(delay)


async def awith_retries(
    call: Callable[[], Awaitable[T]],
    *,
    config: LLMConfig,
    on_retry: Callable[[RetryNotice], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """The async ``with_retries``: ``await call()``, retried on transient failures."""
    retry = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            error = classify_error(exc, config=config)
            retry += 1
            delay = retry_delay(error, retry, config)
            if delay is None:
                raise error from exc
            _note_retry(RetryNotice(retry=retry, error=error, delay_s=delay), on_retry)
            await sleep(delay)


def _note_retry(notice: RetryNotice, on_retry: Callable[[RetryNotice], None] | None) -> None:
    logger.warning(
        "LLM call failed (%s: %s); retry %d in %.2fs",
        notice.error.code,
        notice.error.detail,
        notice.retry,
        notice.delay_s,
    )
    if on_retry is not None:
        on_retry(notice)
