"""The streamed chat request that an LLM customer's reply starts with reaches the server exactly as
the SDK's `chat.completions.create` sends it (same body, key order, headers and key), though it
skips `create`'s argument walk; and the server's answers come back as before: text, usage and
finish reason from the stream, the SDK's status errors classified the same way."""

from __future__ import annotations

import asyncio

import pytest

from coachhub.core.llm import LLMError, astream_chat
from coachhub.core.llm.chat import ChatStreamEnd
from coachhub.core.llm.clients import make_async_client
from coachhub.core.llm.config import LLMConfig
from tests.support.openai_server import OpenAIServer, reply, status

MESSAGES = [
    {
        "role": "system",
        "content": "You are Dana, a customer whose meal kit app keeps failing. Stay in character.",
    },
    {"role": "assistant", "content": "Hi, I've been trying to cancel for a week."},
    {"role": "user", "content": "I'm sorry about that — let me look at your plan (ünïcode too)."},
]
# Headers that differ between any two requests of the same client, whoever sends them.
PER_REQUEST_HEADERS = {"content-length", "x-stainless-retry-count", "x-stainless-read-timeout"}


@pytest.fixture
def server():
    with OpenAIServer(api_key="sk-hop-test", chunk_chars=4) as running:
        yield running


def _config(server: OpenAIServer) -> LLMConfig:
    return LLMConfig(
        base_url=server.base_url, model="hop-model", api_key="sk-hop-test", max_retries=0, temperature=0.3
    )


async def _via_astream_chat(config: LLMConfig, **kwargs) -> list:
    return [item async for item in astream_chat(config, MESSAGES, max_tokens=120, **kwargs)]


async def _via_sdk_create(config: LLMConfig, *, seed=None) -> None:
    import openai

    client = make_async_client(config)
    try:
        stream = await client.chat.completions.create(
            model=config.model,
            messages=MESSAGES,
            max_tokens=120,
            temperature=config.temperature,
            seed=seed if seed is not None else openai.omit,
            stream=True,
            stream_options={"include_usage": True},
        )
        async for _ in stream:
            pass
    finally:
        await client.close()


def _wire(request) -> tuple[list, dict]:
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() not in PER_REQUEST_HEADERS}
    return list(request.body.items()), headers


@pytest.mark.parametrize("seed", [None, 12345])
def test_the_streamed_request_is_the_one_the_sdk_create_sends(server, seed):
    config = _config(server)
    asyncio.run(_via_sdk_create(config, seed=seed))
    asyncio.run(_via_astream_chat(config, seed=seed))
    by_create, by_us = [r for r in server.requests if r.path.endswith("/chat/completions")]
    (body, headers) = _wire(by_us)
    assert (body, headers) == _wire(by_create)
    assert headers["authorization"] == "Bearer sk-hop-test"
    assert ("seed" in by_us.body) == (seed is not None)


def test_text_usage_and_finish_reason_come_from_the_stream(server):
    server.script(reply("Fine. Tell me what you can do.", finish_reason="length"))
    items = asyncio.run(_via_astream_chat(_config(server)))
    *texts, end = items
    assert "".join(texts) == "Fine. Tell me what you can do."
    assert isinstance(end, ChatStreamEnd)
    assert end.finish_reason == "length"
    assert not end.usage.estimated, "the server's own usage chunk is read"


@pytest.mark.parametrize(
    ("code", "kind"),
    [(401, "LLMAuthError"), (429, "LLMRateLimited"), (503, "LLMProviderError"), (400, "LLMRequestError")],
)
def test_a_refused_request_raises_the_classified_error(server, code, kind):
    server.script(status(code))
    with pytest.raises(LLMError) as raised:
        asyncio.run(_via_astream_chat(_config(server)))
    assert type(raised.value).__name__ == kind


async def _answered_before_text(config: LLMConfig) -> list[str]:
    from coachhub.core.llm.chat import stream_request_answered

    seen: list[str] = []
    stream_request_answered.set(lambda: seen.append("answered"))
    try:
        async for item in astream_chat(config, MESSAGES, max_tokens=120):
            seen.append("end" if isinstance(item, ChatStreamEnd) else "text")
    except LLMError:
        seen.append("error")
    return seen


def test_a_waiting_caller_hears_when_the_request_is_answered_or_refused(server):
    # A head start's request thread waits (bounded) for this before writing the rep's line.
    seen = asyncio.run(_answered_before_text(_config(server)))
    assert seen[0] == "answered" and seen.count("answered") == 1 and seen[-1] == "end", seen
    server.script(status(500))
    assert asyncio.run(_answered_before_text(_config(server))) == ["answered", "error"]
