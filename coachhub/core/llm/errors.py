"""Every failure of a call, classified into an `LLMError` with words a person can read."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import openai

from .config import LLMConfig

# --- errors ----------------------------------------------------------------------------------


class LLMError(Exception):
    """A call to the model failed. ``message`` is for the rep; ``detail`` is the technical cause for logs.

    ``code`` is a stable machine key and ``status_code`` the HTTP status an API would answer with,
    mirroring ApplicationError without being one: callers catch LLMError on its own to offer the
    rep a retry (their message is kept), which a generic ApplicationError handler would not.
    ``retryable`` says whether trying again soon could help.
    """

    default_code = "llm_error"
    default_status = 502
    retryable = False

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = self.default_code
        self.status_code = self.default_status
        self.detail = detail


class LLMTimeout(LLMError):
    default_code = "llm_timeout"
    default_status = 504
    retryable = True


class LLMRateLimited(LLMError):
    default_code = "llm_rate_limited"
    default_status = 503
    retryable = True

    def __init__(self, message: str, *, detail: str = "", retry_after_s: float | None = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after_s = retry_after_s


class LLMProviderError(LLMError):
    """The provider failed on its side (5xx): usually gone a moment later."""

    default_code = "llm_provider_error"
    retryable = True


class LLMBadResponse(LLMError):
    """The answer was malformed, truncated, or the stream dropped.

    Retryable only if nothing was shown to the rep yet; ``partial`` marks a stream that broke
    after text was already yielded (the caller must discard that text).
    """

    default_code = "llm_bad_response"
    retryable = True

    def __init__(self, message: str, *, detail: str = "", partial: bool = False) -> None:
        super().__init__(message, detail=detail)
        self.partial = partial
        if partial:
            self.retryable = False


class LLMAuthError(LLMError):
    """401/403: our key is wrong or lacks access. Retrying can't fix configuration."""

    default_code = "llm_auth_error"


class LLMRequestError(LLMError):
    """Another 4xx (unknown model, bad parameter): our request is wrong, so not retried."""

    default_code = "llm_request_error"


class LLMUnavailable(LLMError):
    """The endpoint can't be reached at all (connection refused, DNS)."""

    default_code = "llm_unavailable"
    default_status = 503
    retryable = True


# Worded for whoever called; each engine says them in its own words to its own people (the
# customer's in sessions/engines/llm.py CUSTOMER_MESSAGES, the judge's in scoring/engines/llm_judge.py).
TIMEOUT_MESSAGE = "The AI service took too long to answer. Try again in a moment."
RATE_LIMIT_MESSAGE = "The AI service is busy right now. Wait a moment and try again."
PROVIDER_MESSAGE = "The AI service had a problem on its side. Try again in a moment."
BAD_RESPONSE_MESSAGE = "The AI service's answer came back garbled or cut off. Try again."
AUTH_MESSAGE = (
    "The AI service turned down our credentials. An admin needs to check the API key in the AI settings."
)
REQUEST_MESSAGE = "The AI service rejected the request (HTTP {status}). An admin should check the model name in the AI settings."
UNAVAILABLE_MESSAGE = (
    "Can't reach the AI service at {host}. Try again in a moment; if it keeps happening, "
    "an admin should check the AI settings."
)


_TERMINAL_WHAT = {
    "llm_timeout": "took too long to answer",
    "llm_unavailable": "can't be reached",
    "llm_rate_limited": "is rate-limited by the AI service",
    "llm_provider_error": "hit an error on the AI service's side",
    "llm_auth_error": "was refused: check the API key",
    "llm_request_error": "request was rejected: check the model name",
    "llm_bad_response": "sent back a garbled or cut-off answer",
}


def terminal_error_line(who: str, exc: LLMError) -> str:
    """A model failure as one line for a terminal command: who failed ("The LLM judge"), what
    happened, the stable code, and the technical cause."""
    what = _TERMINAL_WHAT.get(exc.code, "failed")
    detail = " ".join((exc.detail or "").split())[:300]
    return f"{who} {what} ({exc.code}){': ' + detail if detail else ''}"


def classify_error(exc: BaseException, *, config: LLMConfig | None = None) -> LLMError:
    """The LLMError for anything a model call raised (an LLMError passes through unchanged)."""
    if isinstance(exc, LLMError):
        return exc
    detail = f"{type(exc).__name__}: {exc}"
    # Order matters: APITimeoutError is an APIConnectionError, RateLimitError an APIStatusError.
    if isinstance(exc, openai.APITimeoutError | asyncio.TimeoutError | TimeoutError):
        return LLMTimeout(TIMEOUT_MESSAGE, detail=detail)
    if isinstance(exc, openai.APIConnectionError):
        if _is_connect_failure(exc):
            host = urlsplit(config.base_url).netloc if config else "the configured address"
            return LLMUnavailable(UNAVAILABLE_MESSAGE.format(host=host or config.base_url), detail=detail)
        # The connection was up and broke mid-answer: the answer is what's broken.
        return LLMBadResponse(BAD_RESPONSE_MESSAGE, detail=detail)
    if isinstance(exc, openai.RateLimitError):
        return LLMRateLimited(
            RATE_LIMIT_MESSAGE, detail=detail, retry_after_s=parse_retry_after(exc.response.headers)
        )
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return LLMAuthError(AUTH_MESSAGE, detail=detail)
    if isinstance(exc, openai.APIResponseValidationError):
        return LLMBadResponse(BAD_RESPONSE_MESSAGE, detail=detail)
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500:
            return LLMProviderError(PROVIDER_MESSAGE, detail=detail)
        if exc.status_code == 408:
            return LLMTimeout(TIMEOUT_MESSAGE, detail=detail)
        return LLMRequestError(REQUEST_MESSAGE.format(status=exc.status_code), detail=detail)
    if isinstance(exc, ValueError | KeyError | TypeError | AttributeError | IndexError):
        # json.JSONDecodeError from a truncated body or a garbled SSE line, or a shape we can't read.
        return LLMBadResponse(BAD_RESPONSE_MESSAGE, detail=detail)
    if isinstance(exc, openai.APIError):
        # An error event inside a stream: the provider's problem.
        return LLMProviderError(PROVIDER_MESSAGE, detail=detail)
    return LLMProviderError(PROVIDER_MESSAGE, detail=detail)


def _is_connect_failure(exc: BaseException) -> bool:
    """Did the TCP connection never open? (vs. open and then broke)."""
    cause: BaseException | None = exc
    while cause is not None:
        if type(cause).__name__ in ("ConnectError", "ConnectionRefusedError", "gaierror"):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    try:
        milliseconds = headers.get("retry-after-ms")
        if milliseconds is not None:
            return max(0.0, float(milliseconds) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError, OverflowError):
        return None
