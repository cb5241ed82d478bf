"""Time to the first streamed token through CoachHub minus the same loopback LLM server's own.

Starts the loopback OpenAI-compatible server, measures the time from POSTing a rep turn to CoachHub
(uvicorn, PostgreSQL via PgBouncer, Redis, a Celery worker) to the first `delta` event of the
customer's reply, then the server's own time to first content chunk for the very request CoachHub
sent it, with a plain streaming client. Prints figures, never pass/fail.

The LLM customer holds back the last few words of what the model has said so far (and vets each
sentence with them: `SideChannelFilter`), so a role flip is caught before any of it is shown. That
hold is the realism rule's price, not the hop's: the server's own time to the first text the filter
releases is printed too, and the hop's share is measured against it. Each turn is also split where
CoachHub's request reaches the LLM server (its arrival time, on the same clock): what CoachHub spends
before the model can start, and the rest (the model's own time plus relaying its text).

    .venv/bin/python bench/bench_first_token.py [--runs 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import (  # noqa: E402
    login_cookies,
    percentile,
    seed_reps,
    served_app,
    setup_django,
)
from tests.support.openai_server import OpenAIServer  # noqa: E402

LINE = "I'm sorry about the trouble with the app. Can you tell me what happened?"


def prepare(server: OpenAIServer):
    setup_django()
    from coachhub.tenancy import services as tenancy_services
    from coachhub.tenancy.models import Membership, Role

    tenant, version, reps = seed_reps(1, tenant_slug="bench-llm")
    admin = reps[0]
    Membership.objects.for_tenant(tenant).filter(pk=admin.pk).update(role=Role.TENANT_ADMIN)
    tenancy_services.ai_settings_update(
        tenant=tenant,
        actor=admin.user,
        customer_engine="llm",
        scorer_engine="embedded",
        llm_base_url=server.base_url,
        llm_model="bench-model",
    )
    return version, login_cookies(admin.user)


def _first_text(line: str) -> bool:
    """Whether an SSE line is a chunk carrying text (the stream opens with an empty role chunk)."""
    if not line.startswith("data: ") or line == "data: [DONE]":
        return False
    choices = json.loads(line[6:]).get("choices") or [{}]
    return bool((choices[0].get("delta") or {}).get("content"))


async def direct_ttft(server: OpenAIServer, runs: int, body: dict, spec) -> tuple[list[float], list[float]]:
    """The LLM server's own time to first token for `body` (the very request CoachHub sent it), and
    to the first text the customer's filter would release from it (see the module's docstring)."""
    import httpx

    from sessions.engines.prompts import SideChannelFilter, out_of_character, strip_speaker_label

    first_token, first_shown = [], []
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(runs):
            held = SideChannelFilter(
                vet=lambda sentence: out_of_character(sentence, spec=spec, rep_text=LINE),
                clean=lambda text: strip_speaker_label(text, spec),
            )
            started, token_seen, shown = time.perf_counter(), False, False
            async with client.stream("POST", f"{server.base_url}/chat/completions", json=body) as response:
                # Read to the end, as CoachHub does: a response closed early takes its connection with
                # it, and every request would pay a new connection (and the server a new thread)
                # that CoachHub's reused one doesn't, flattering the hop by that much.
                async for line in response.aiter_lines():
                    if shown or not _first_text(line):
                        continue
                    if not token_seen:
                        token_seen = True
                        first_token.append((time.perf_counter() - started) * 1000)
                    if held.feed(json.loads(line[6:])["choices"][0]["delta"]["content"]):
                        first_shown.append((time.perf_counter() - started) * 1000)
                        shown = True
    return first_token, first_shown


async def coachhub_ttft(
    base: str, version_id: int, cookies: dict, runs: int, server: OpenAIServer
) -> tuple[list[float], list[float], list[float]]:
    """Per turn: POST → first delta; POST → the LLM server has CoachHub's request (what CoachHub
    spends before the model can start); that request's arrival → first delta (the model's own time
    to the first text shown, plus relaying it). The two parts are paired per turn, so they don't
    drift with the machine's load the way two separately measured percentiles do."""
    import httpx

    headers = {"X-CSRFToken": cookies["csrftoken"], "Referer": base}
    results, before_model, after_model = [], [], []
    async with httpx.AsyncClient(timeout=30, cookies=cookies) as client:
        session_url = None
        for i in range(runs):
            if i % 8 == 0:  # fresh sessions keep the transcript short, as in practice
                started = await client.post(
                    f"{base}/t/bench-llm/sessions/start/", data={"version_id": version_id}, headers=headers
                )
                session_url = started.headers["location"]
            asked_before = len(_chat_arrivals(server))
            t0, m0 = time.perf_counter(), time.monotonic()
            first = first_at = None
            async with client.stream(
                "POST", f"{base}{session_url}turns/", data={"text": LINE}, headers=headers
            ) as response:
                async for chunk in response.aiter_text():
                    if first is None and "event: delta" in chunk:
                        first, first_at = (time.perf_counter() - t0) * 1000, time.monotonic()
                    if "event: error" in chunk:
                        raise RuntimeError(chunk)
            results.append(first)
            arrivals = _chat_arrivals(server)[asked_before:]
            if len(arrivals) == 1:  # one call for the turn (a regenerated reply would make two)
                before_model.append((arrivals[0] - m0) * 1000)
                after_model.append((first_at - arrivals[0]) * 1000)
    return results, before_model, after_model


def _chat_arrivals(server: OpenAIServer) -> list[float]:
    return [r.received_at for r in server.requests if r.path.endswith("/chat/completions")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    server = OpenAIServer(chunk_chars=4, chunk_delay_s=0.005).start()
    try:
        version, cookies = prepare(server)
        version_id = version.id
        with served_app(workers=1) as base:
            asyncio.run(coachhub_ttft(base, version_id, cookies, 16, server))  # warm up
            through, before_model, after_model = asyncio.run(
                coachhub_ttft(base, version_id, cookies, args.runs, server)
            )
        # The baseline replays a request CoachHub sent (persona prompt, transcript and all), so both
        # sides ask the server for the same work.
        body = server.chat_requests()[-1]
        direct, shown = asyncio.run(direct_ttft(server, args.runs, body, version.as_spec()))
    finally:
        server.stop()
    print("Time to first streamed token (loopback LLM server, uvicorn, PostgreSQL via PgBouncer)")
    rows = (
        ("LLM server directly: first token", direct),
        ("LLM server directly: first text shown", shown),
        ("through CoachHub (POST turn → first delta)", through),
        ("  of which POST → request at the LLM server", before_model),
        ("  and request at the LLM server → first delta", after_model),
    )
    for label, values in rows:
        print(f"  {label:<44} p50={percentile(values, 50):6.1f} ms  p95={percentile(values, 95):6.1f} ms")
    for label, baseline in (
        ("added by CoachHub (vs first token)", direct),
        ("of which the hop (vs first text shown)", shown),
    ):
        print(
            f"  {label:<44} p50={percentile(through, 50) - percentile(baseline, 50):6.1f} ms"
            f"  p95={percentile(through, 95) - percentile(baseline, 95):6.1f} ms"
        )


if __name__ == "__main__":
    main()
