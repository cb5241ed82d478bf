"""Talking to an OpenAI-compatible Chat Completions endpoint: config, clients, errors, retries, usage.

Shared by the LLM customer (sessions/engines/llm.py) and the LLM judge. The SDK's own retries are
off (``max_retries=0``) because we retry ourselves: that is the only way to classify every failure
into an ``LLMError`` a rep can read, to honor Retry-After up to our own cap, and to never retry a
stream that already showed tokens to the rep.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import math
import random
import socket
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import openai

logger = logging.getLogger(__name__)

T = TypeVar("T")

ChatMessage = dict[str, str]

DEFAULT_MODEL = "gpt-4o-mini"
# The SDK refuses to build a client without a key; local servers (vLLM, Ollama, our test
# server) ignore it, so an unset key becomes this placeholder rather than an error.
PLACEHOLDER_API_KEY = "not-needed"
# Rough size of a token in English text, for usage estimates when the server reports none.
CHARS_PER_TOKEN = 4
# Per-message overhead of the chat format (role markers), in tokens.
TOKENS_PER_MESSAGE = 4


@dataclass(frozen=True)
class LLMConfig:
    """Where and how to call the model. One per tenant (later) or one from settings.

    ``max_retries`` counts retries after the first try; ``backoff_s`` is the first backoff step
    (doubled each retry, with jitter); ``max_retry_wait_s`` caps any single wait, including a
    server's Retry-After: a longer Retry-After is not waited out (a rep won't sit through it).
    """

    base_url: str
    model: str
    api_key: str = ""
    timeout_s: float = 20.0
    max_retries: int = 2
    backoff_s: float = 0.5
    temperature: float = 0.7
    max_retry_wait_s: float = 8.0
    # False for endpoints a tenant admin typed in: then only public addresses are dialled, each
    # checked and pinned when the connection opens (see "endpoint checks" below).
    allow_private: bool = True

    def __repr__(self) -> str:
        # Never print the key into logs or tracebacks.
        return (
            f"LLMConfig(base_url={self.base_url!r}, model={self.model!r}, api_key={'***' if self.api_key else ''!r}, "
            f"timeout_s={self.timeout_s}, max_retries={self.max_retries}, backoff_s={self.backoff_s}, "
            f"temperature={self.temperature}, max_retry_wait_s={self.max_retry_wait_s})"
        )


def default_llm_config() -> LLMConfig | None:
    """The deployment-wide endpoint from settings (LLM_BASE_URL, LLM_MODEL, LLM_API_KEY, LLM_TIMEOUT_S,
    LLM_MAX_RETRIES, LLM_TEMPERATURE); None when no base URL is configured."""
    from django.conf import settings

    base_url = (getattr(settings, "LLM_BASE_URL", "") or "").strip()
    if not base_url:
        return None
    return LLMConfig(
        base_url=base_url,
        model=(getattr(settings, "LLM_MODEL", "") or DEFAULT_MODEL).strip(),
        api_key=getattr(settings, "LLM_API_KEY", "") or "",
        timeout_s=float(getattr(settings, "LLM_TIMEOUT_S", 20.0)),
        max_retries=int(getattr(settings, "LLM_MAX_RETRIES", 2)),
        temperature=float(getattr(settings, "LLM_TEMPERATURE", 0.7)),
    )


# --- clients ---------------------------------------------------------------------------------


def _client_options(config: LLMConfig) -> dict[str, Any]:
    # SDK retries off: ``with_retries`` does them, so it can classify each failure.
    return {
        "base_url": config.base_url,
        "api_key": config.api_key or PLACEHOLDER_API_KEY,
        "timeout": config.timeout_s,
        "max_retries": 0,
    }


def make_client(config: LLMConfig) -> openai.OpenAI:
    options = _client_options(config)
    if not config.allow_private:
        options["http_client"] = openai.DefaultHttpxClient(transport=PublicAddressTransport())
    return openai.OpenAI(**options)


def make_async_client(config: LLMConfig) -> openai.AsyncOpenAI:
    """An async client; its connection pool belongs to the running event loop, so make one per loop."""
    options = _client_options(config)
    if not config.allow_private:
        options["http_client"] = openai.DefaultAsyncHttpxClient(transport=AsyncPublicAddressTransport())
    return openai.AsyncOpenAI(**options)


# --- endpoint checks -------------------------------------------------------------------------
# A tenant admin may point the LLM engines anywhere; the server then POSTs there with the key.
# Unless the operator allows it (LLM_ALLOW_PRIVATE_ENDPOINTS), only public addresses are reachable:
# never loopback, private, link-local (cloud metadata lives at 169.254.169.254), shared, multicast
# or reserved ones. The name is resolved when the connection opens and the connection goes to the
# address that was checked, so a DNS answer that changes between check and connect (rebinding)
# can't redirect it; redirects are requests too and pass the same check.

ENDPOINT_SCHEMES = ("http", "https")
# Hostnames refused before any lookup (metadata services that also answer by name).
_BLOCKED_HOSTNAMES = {"localhost", "metadata", "metadata.google.internal", "instance-data"}


class EndpointRefused(Exception):
    """The endpoint's address isn't one CoachHub calls. ``reason`` is for the admin's form and the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve_public(host: str, port: int) -> list[str]:
    """The host's addresses, all public, or EndpointRefused. An address literal is checked as is."""
    name = host.strip("[]").rstrip(".").lower()
    if not name or name in _BLOCKED_HOSTNAMES or name.endswith(".localhost"):
        raise EndpointRefused(f"{host} is a local name")
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EndpointRefused(f"{host} can't be found ({exc})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    private = [address for address in addresses if not address_is_public(address)]
    if private or not addresses:
        raise EndpointRefused(f"{host} resolves to a private, loopback or link-local address ({', '.join(private)})")
    return addresses


def endpoint_problem(url: str, *, allow_private: bool) -> str | None:
    """Why the AI settings can't use this base URL (words for the admin), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "That isn't a usable URL."
    if parts.scheme not in ENDPOINT_SCHEMES:
        return "The base URL must start with https:// (or http://)."
    if not parts.hostname:
        return "The base URL needs a host name."
    if parts.username or parts.password:
        return "Put the API key in its own field, not in the URL."
    if allow_private:
        return None
    try:
        resolve_public(parts.hostname, port)
    except EndpointRefused as exc:
        logger.info("AI settings refused endpoint %s: %s", url, exc.reason)
        return (
            f"CoachHub can't call {parts.hostname}: it is a private, loopback or link-local address, or it can't be "
            "found. Use the provider's public address."
        )
    return None


def _pinned(request: httpx.Request) -> httpx.Request:
    """Checks the request's host and points the request at the first checked address, keeping the
    Host header and TLS server name of the original host."""
    if request.url.scheme not in ENDPOINT_SCHEMES:
        raise httpx.ConnectError(f"refused scheme {request.url.scheme}", request=request)
    host = request.url.host
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    try:
        address = resolve_public(host, port)[0]
    except EndpointRefused as exc:
        # Logged for the operator; the rep and admin see the same "can't reach" as a closed port.
        logger.warning("LLM endpoint refused at connect time: %s", exc.reason)
        raise httpx.ConnectError(f"refused address: {exc.reason}", request=request) from None
    if request.url.scheme == "https":
        request.extensions = {**request.extensions, "sni_hostname": host}
    request.url = request.url.copy_with(host=address)
    return request


class PublicAddressTransport(httpx.HTTPTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return super().handle_request(_pinned(request))


class AsyncPublicAddressTransport(httpx.AsyncHTTPTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # getaddrinfo blocks: resolve in a thread so the event loop keeps serving other streams.
        request = await asyncio.to_thread(_pinned, request)
        return await super().handle_async_request(request)


# Building a client costs tens of milliseconds (TLS context, HTTP pool), more than the whole rest
# of a turn, and a reused client keeps its connections warm: share them per config (and, for async
# clients, per event loop, which owns their connections).
_SHARED_CLIENTS_MAX = 64
_sync_clients: dict[LLMConfig, openai.OpenAI] = {}
_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_clients_lock = threading.Lock()


def shared_client(config: LLMConfig) -> openai.OpenAI:
    with _clients_lock:
        client = _sync_clients.get(config)
        if client is None:
            if len(_sync_clients) >= _SHARED_CLIENTS_MAX:
                _sync_clients.pop(next(iter(_sync_clients)))
            client = _sync_clients[config] = make_client(config)
        return client


def shared_async_client(config: LLMConfig) -> openai.AsyncOpenAI:
    loop = asyncio.get_running_loop()
    per_loop = _async_clients.setdefault(loop, {})
    client = per_loop.get(config)
    if client is None:
        if len(per_loop) >= _SHARED_CLIENTS_MAX:
            per_loop.pop(next(iter(per_loop)))
        client = per_loop[config] = make_async_client(config)
    return client


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


TIMEOUT_MESSAGE = "The AI customer took too long to answer. Please send your message again."
RATE_LIMIT_MESSAGE = "The AI service is busy right now. Please wait a moment and send your message again."
PROVIDER_MESSAGE = "The AI service had a problem on its side. Please send your message again in a moment."
BAD_RESPONSE_MESSAGE = "The AI customer's reply came back garbled or cut off. Please send your message again."
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


# --- usage -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LLMUsage:
    """Tokens one call used; ``estimated`` when the server didn't say and we counted ~4 chars/token."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "estimated": self.estimated,
        }


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_prompt_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    return sum(TOKENS_PER_MESSAGE + estimate_tokens(message.get("content", "")) for message in messages)


def usage_from(reported: Any, *, messages: Sequence[Mapping[str, str]], completion: str) -> LLMUsage:
    """The server's ``usage`` when it sent a usable one, else an estimate."""
    prompt_tokens = getattr(reported, "prompt_tokens", None)
    completion_tokens = getattr(reported, "completion_tokens", None)
    if isinstance(prompt_tokens, int) and isinstance(completion_tokens, int):
        return LLMUsage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
    return LLMUsage(
        prompt_tokens=estimate_prompt_tokens(messages),
        completion_tokens=estimate_tokens(completion),
        estimated=True,
    )


# --- calls -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatResult:
    """A whole (non-streamed) answer."""

    text: str
    usage: LLMUsage
    finish_reason: str | None


@dataclass(frozen=True)
class ChatStreamEnd:
    """The last item of ``astream_chat``: the stream finished cleanly."""

    usage: LLMUsage
    finish_reason: str | None


def chat_complete(
    config: LLMConfig,
    messages: Sequence[ChatMessage],
    *,
    client: openai.OpenAI | None = None,
    max_tokens: int,
    seed: int | None = None,
    on_retry: Callable[[RetryNotice], None] | None = None,
    accept: Callable[[str], None] | None = None,
    response_format: Mapping[str, Any] | None = None,
) -> ChatResult:
    """One non-streamed completion, with retries; raises LLMError.

    ``accept(text)`` may raise LLMBadResponse to reject an unusable answer (say, an empty one);
    that is retried like any other bad response. ``response_format`` is passed through as is
    (``{"type": "json_object"}`` asks for JSON mode) and left out of the request when None.
    """
    client = client or make_client(config)

    def call() -> ChatResult:
        response = client.chat.completions.create(
            model=config.model,
            messages=list(messages),  # type: ignore[arg-type]  # plain dicts are valid message params
            max_tokens=max_tokens,
            temperature=config.temperature,
            seed=seed if seed is not None else openai.omit,
            response_format=dict(response_format) if response_format is not None else openai.omit,  # type: ignore[arg-type]
        )
        if not response.choices:
            raise LLMBadResponse(BAD_RESPONSE_MESSAGE, detail="response had no choices")
        choice = response.choices[0]
        text = choice.message.content
        if not isinstance(text, str):
            raise LLMBadResponse(BAD_RESPONSE_MESSAGE, detail="response message had no text content")
        if accept is not None:
            accept(text)
        usage = usage_from(response.usage, messages=messages, completion=text)
        return ChatResult(text=text, usage=usage, finish_reason=choice.finish_reason)

    return with_retries(call, config=config, on_retry=on_retry)


def stream_complete(
    config: LLMConfig,
    messages: Sequence[ChatMessage],
    *,
    client: openai.OpenAI | None = None,
    max_tokens: int,
    seed: int | None = None,
    response_format: Mapping[str, Any] | None = None,
    deadline_s: float | None = None,
) -> ChatResult:
    """One completion, streamed and read to the end, without retries (the caller decides those).

    Streamed so that giving up really stops the work: when the deadline passes or anything fails,
    the connection is closed at once, and servers such as llama.cpp stop generating for a client
    that went away, where an abandoned non-streamed request keeps a single-slot server busy.
    """
    client = client or make_client(config)
    started = time.monotonic()
    try:
        stream = client.chat.completions.create(
            model=config.model,
            messages=list(messages),  # type: ignore[arg-type]
            max_tokens=max_tokens,
            temperature=config.temperature,
            seed=seed if seed is not None else openai.omit,
            response_format=dict(response_format) if response_format is not None else openai.omit,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
    except Exception as exc:
        raise classify_error(exc, config=config) from exc
    parts: list[str] = []
    finish_reason: str | None = None
    reported_usage: Any = None
    try:
        for chunk in stream:
            if getattr(chunk, "usage", None) is not None:
                reported_usage = chunk.usage
            for choice in chunk.choices or ():
                content = choice.delta.content if choice.delta is not None else None
                if content:
                    parts.append(content)
                if choice.finish_reason:
                    finish_reason = choice.finish_reason
            if deadline_s is not None and time.monotonic() - started > deadline_s:
                raise LLMTimeout(
                    TIMEOUT_MESSAGE, detail=f"no complete answer within {deadline_s:g}s; the request was cancelled"
                )
    except LLMError:
        raise
    except Exception as exc:
        raise classify_error(exc, config=config) from exc
    finally:
        stream.close()
    if finish_reason is None:
        raise LLMBadResponse(BAD_RESPONSE_MESSAGE, detail="stream ended without a finish reason")
    text = "".join(parts)
    return ChatResult(text=text, usage=usage_from(reported_usage, messages=messages, completion=text), finish_reason=finish_reason)


def context_window(config: LLMConfig, *, client: openai.OpenAI | None = None) -> int | None:
    """The model's context length in tokens where the server's ``/v1/models`` says (vLLM's
    ``max_model_len``, llama.cpp's ``meta.n_ctx``/``n_ctx_train``, ``context_length`` elsewhere);
    None when it doesn't or can't be asked. Remembered per endpoint and model."""
    key = (config.base_url, config.model)
    if key in _context_windows:
        return _context_windows[key]
    found: int | None = None
    try:
        listing = (client or make_client(config)).with_options(timeout=5.0, max_retries=0).models.list()
        models = list(listing.data)
        chosen = next((m for m in models if m.id == config.model), models[0] if len(models) == 1 else None)
        if chosen is not None:
            extra = chosen.model_dump()
            meta = extra.get("meta") or {}
            for value in (
                extra.get("max_model_len"),
                extra.get("context_length"),
                extra.get("context_window"),
                meta.get("n_ctx") if isinstance(meta, dict) else None,
                meta.get("n_ctx_train") if isinstance(meta, dict) else None,
            ):
                if isinstance(value, int) and value > 0:
                    found = value
                    break
    except Exception as exc:  # a server without /v1/models is fine: the admin's limit applies
        logger.info("LLM endpoint didn't report a context length (%s)", type(exc).__name__)
    _context_windows[key] = found
    return found


_context_windows: dict[tuple[str, str], int | None] = {}


async def astream_chat(
    config: LLMConfig,
    messages: Sequence[ChatMessage],
    *,
    client: openai.AsyncOpenAI | None = None,
    max_tokens: int,
    seed: int | None = None,
    on_retry: Callable[[RetryNotice], None] | None = None,
) -> AsyncIterator[str | ChatStreamEnd]:
    """Stream one completion: yields text deltas (``str``), then exactly one ``ChatStreamEnd``.

    Failures before the first text delta are retried like ``with_retries``. Once text has been
    yielded a retry would make the model say something different after the caller already showed
    part of the first answer, so any later failure raises ``LLMBadResponse(partial=True)`` instead.
    A stream that ends without a finish reason (closed early without an error) counts as dropped.
    """
    own_client = client is None
    active = client or make_async_client(config)
    retry = 0
    try:
        while True:
            yielded_text = False
            try:
                async for item in _stream_once(active, config, messages, max_tokens=max_tokens, seed=seed):
                    if isinstance(item, str):
                        yielded_text = True
                    yield item
                return
            except Exception as exc:
                error = classify_error(exc, config=config)
                if yielded_text:
                    raise LLMBadResponse(BAD_RESPONSE_MESSAGE, detail=error.detail, partial=True) from exc
                retry += 1
                delay = retry_delay(error, retry, config)
                if delay is None:
                    raise error from exc
                _note_retry(RetryNotice(retry=retry, error=error, delay_s=delay), on_retry)
                await asyncio.sleep(delay)
    finally:
        if own_client:
            await active.close()


async def _stream_once(
    client: openai.AsyncOpenAI,
    config: LLMConfig,
    messages: Sequence[ChatMessage],
    *,
    max_tokens: int,
    seed: int | None,
) -> AsyncIterator[str | ChatStreamEnd]:
    stream = await client.chat.completions.create(
        model=config.model,
        messages=list(messages),  # type: ignore[arg-type]
        max_tokens=max_tokens,
        temperature=config.temperature,
        seed=seed if seed is not None else openai.omit,
        stream=True,
        stream_options={"include_usage": True},
    )
    text_parts: list[str] = []
    finish_reason: str | None = None
    reported_usage: Any = None
    try:
        async for chunk in stream:
            if getattr(chunk, "usage", None) is not None:
                reported_usage = chunk.usage
            for choice in chunk.choices or ():
                content = choice.delta.content if choice.delta is not None else None
                if content:
                    text_parts.append(content)
                    yield content
                if choice.finish_reason:
                    finish_reason = choice.finish_reason
    finally:
        await stream.close()
    if finish_reason is None:
        raise LLMBadResponse(BAD_RESPONSE_MESSAGE, detail="stream ended without a finish reason")
    usage = usage_from(reported_usage, messages=messages, completion="".join(text_parts))
    yield ChatStreamEnd(usage=usage, finish_reason=finish_reason)


__all__ = [
    "ChatResult",
    "ChatStreamEnd",
    "LLMAuthError",
    "LLMBadResponse",
    "LLMConfig",
    "LLMError",
    "LLMProviderError",
    "LLMRateLimited",
    "LLMRequestError",
    "LLMTimeout",
    "LLMUnavailable",
    "LLMUsage",
    "RetryNotice",
    "astream_chat",
    "awith_retries",
    "chat_complete",
    "classify_error",
    "context_window",
    "stream_complete",
    "default_llm_config",
    "estimate_tokens",
    "make_async_client",
    "make_client",
    "parse_retry_after",
    "retry_delay",
    "usage_from",
    "with_retries",
]
