"""The loopback OpenAI stand-in itself: it must speak the API the real SDK expects, concurrently."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest

from tests.support.openai_server import (
    CANNED_CUSTOMER_LINE,
    Messages,
    OpenAIServer,
    reply,
    status,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
MESSAGES = [{"role": "user", "content": "Hello"}]


def client_for(server: OpenAIServer, **options) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, **options)


def test_lists_models_and_answers_with_usage(openai_server):
    client = client_for(openai_server)

    models = client.models.list()
    completion = client.chat.completions.create(model="any", messages=MESSAGES)

    assert [model.id for model in models.data] == [openai_server.model]
    assert completion.choices[0].message.content.startswith(CANNED_CUSTOMER_LINE)
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert openai_server.chat_requests() == [{"model": "any", "messages": MESSAGES}]


def test_streams_sse_chunks_ending_in_done(openai_server):
    openai_server.script(reply(lambda messages: f"You said {messages[-1]['content']}."))

    stream = client_for(openai_server).chat.completions.create(
        model="any", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "You said Hello."
    assert sum(1 for chunk in chunks if chunk.choices and chunk.choices[0].delta.content) > 1
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_error_statuses_carry_openai_error_bodies(openai_server):
    openai_server.script(status(429, retry_after=2))

    with pytest.raises(openai.RateLimitError) as caught:
        client_for(openai_server).chat.completions.create(model="any", messages=MESSAGES)

    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.body["message"]


def test_handles_requests_concurrently(openai_server):
    # Each reply waits for the other request to arrive: a one-at-a-time server would never get there.
    both_arrived = threading.Barrier(2, timeout=5)

    def rendezvous(messages: Messages) -> str:
        both_arrived.wait()
        return "Together."

    openai_server.script(reply(rendezvous), reply(rendezvous))
    client = client_for(openai_server)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(client.chat.completions.create, model="any", messages=MESSAGES) for _ in range(2)
        ]
        answers = [future.result(timeout=10).choices[0].message.content for future in futures]

    assert answers == ["Together.", "Together."]


def test_runs_standalone():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.openai_server", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        base_url = banner.split(" on ", 1)[1].split(" ", 1)[0]
        client = openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0, timeout=5)

        completion = client.chat.completions.create(model="any", messages=MESSAGES)

        assert completion.choices[0].message.content.startswith(CANNED_CUSTOMER_LINE)
    finally:
        process.terminate()
        process.wait(timeout=10)
