"""Chat Completions calls, whole or streamed, their usage, and the model's context window."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from .clients import make_async_client, make_client
from .config import CHARS_PER_TOKEN, TOKENS_PER_MESSAGE, ChatMessage, LLMConfig
from .errors import (
    BAD_RESPONSE_MESSAGE,
    TIMEOUT_MESSAGE,
    LLMBadResponse,
    LLMError,
    LLMTimeout,
    classify_error,
)
from .retry import RetryNotice, _note_retry, retry_delay, with_retries

logger = logging.getLogger(__name__)

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
                    TIMEOUT_MESSAGE,
                    detail=f"no complete answer within {deadline_s:g}s; the request was cancelled",
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
    return ChatResult(
        text=text,
        usage=usage_from(reported_usage, messages=messages, completion=text),
        finish_reason=finish_reason,
    )


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


# Called on the event loop once a streamed request is answered (its response has started, or it
# failed): a caller sharing the process's CPU with the request can wait for that before its own work.
stream_request_answered: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "stream_request_answered", default=None
)


# The streamed request is sent with the SDK's own `post`, as `chat.completions.create` sends it,
# minus `create`'s first step: walking the arguments against its TypedDicts to rename aliased keys
# and format dates (`async_maybe_transform`). Our messages are plain `{"role", "content"}` strings,
# which that walk returns unchanged, yet on a turn's prompt (~6 KB of persona and transcript) it
# took ~1.7 ms on the event loop before the request could leave: the SDK's create spent 4.2 ms from
# call to the request's arrival at a loopback server, its post 1.9 ms, a plain httpx stream 1.8 ms.
# Everything else is the SDK's: headers and auth (`security` as `create` sets it), the response's
# status errors, the stream's parsing into ChatCompletionChunk. The body keeps `create`'s key order.
_CHAT_REQUEST_OPTIONS: dict[str, Any] = {"security": {"bearer_auth": True}}


def _stream_body(
    config: LLMConfig, messages: Sequence[ChatMessage], *, max_tokens: int, seed: int | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": config.model,
        "stream": True,
        "messages": list(messages),
        "max_tokens": max_tokens,
    }
    if seed is not None:
        body["seed"] = seed
    body["stream_options"] = {"include_usage": True}
    body["temperature"] = config.temperature
    return body


async def _stream_once(
    client: openai.AsyncOpenAI,
    config: LLMConfig,
    messages: Sequence[ChatMessage],
    *,
    max_tokens: int,
    seed: int | None,
) -> AsyncIterator[str | ChatStreamEnd]:
    try:
        stream = await client.post(
            "/chat/completions",
            body=_stream_body(config, messages, max_tokens=max_tokens, seed=seed),
            options=_CHAT_REQUEST_OPTIONS,
            cast_to=ChatCompletion,
            stream=True,
            stream_cls=openai.AsyncStream[ChatCompletionChunk],
        )
    finally:
        if (answered := stream_request_answered.get()) is not None:
            answered()
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
