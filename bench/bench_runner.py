"""Rep-turn latency of the role-play runner with the embedded customer, under uvicorn on loopback.

Prints figures (never pass/fail): p50/p95 of one rep turn (POST the line → the `done` event of the
streamed reply), alone and with N concurrent sessions, next to a bare Django endpoint on the same
server. Needs PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/coachhub_bench).

    .venv/bin/python bench/bench_runner.py [--sessions 200] [--turns 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
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
from tests.support.sse import parse_events  # noqa: E402

LINES = [
    "I'm sorry this happened, I can hear how frustrating it is.",
    "So the app keeps sending you back to the menu when you try to cancel?",
    "Can you confirm the email on the account for me?",
    "Thanks. Let me look at the options with you.",
    "I understand, and I want to get this right for you.",
]


async def one_turn(client, base: str, session_url: str, cookies: dict, text: str) -> tuple[float, bool, float]:
    """One rep turn: (client-observed ms, whether the session ended, server-side ms from `done`)."""
    started = time.perf_counter()
    body = ""
    async with client.stream(
        "POST", f"{base}{session_url}turns/", data={"text": text},
        headers={"X-CSRFToken": cookies["csrftoken"], "Referer": base}, cookies=cookies,
    ) as response:
        async for chunk in response.aiter_text():
            body += chunk
    client_ms = (time.perf_counter() - started) * 1000
    events = dict(parse_events(body))
    if "error" in events or "done" not in events:
        raise RuntimeError(body)
    return client_ms, events["done"]["status"] == "ended", events["done"]["server_ms"]


async def start_session(client, base: str, cookies: dict, version_id: int) -> str:
    response = await client.post(
        f"{base}/t/bench/sessions/start/", data={"version_id": version_id},
        headers={"X-CSRFToken": cookies["csrftoken"], "Referer": base}, cookies=cookies, follow_redirects=False,
    )
    assert response.status_code == 302, response.text[:300]
    return response.headers["location"]


async def rep_loop(client, base, cookies, version_id, turns, latencies, think_s: float = 0.0) -> None:
    session_url = await start_session(client, base, cookies, version_id)
    lines = itertools.cycle(LINES)
    rng = random.Random(hash(cookies["sessionid"]))
    for _ in range(turns):
        if think_s:
            # A rep reads the reply and types the next line before sending it.
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)
        client_ms, ended, server_ms = await one_turn(client, base, session_url, cookies, next(lines))
        latencies.append((client_ms, server_ms))
        if ended:
            session_url = await start_session(client, base, cookies, version_id)


async def bare_loop(client, base, requests, latencies, think_s: float = 0.0, seed: str = "") -> None:
    # The same load shape as rep_loop (same pauses from the same seed), so the two compare fairly.
    rng = random.Random(hash(seed))
    for _ in range(requests):
        if think_s:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)
        started = time.perf_counter()
        response = await client.get(f"{base}/bench/bare")
        assert response.status_code == 200
        latencies.append(((time.perf_counter() - started) * 1000, float(response.text)))


def report(label: str, values: list[tuple[float, float]]) -> None:
    client = [c for c, _ in values]
    server = [s for _, s in values]
    print(
        f"{label:<48} n={len(values):>5}  server p50={percentile(server, 50):7.1f} p95={percentile(server, 95):7.1f} ms"
        f"  | client p50={percentile(client, 50):7.1f} p95={percentile(client, 95):7.1f} ms"
    )


def prepare(args) -> tuple[int, list[dict]]:
    setup_django()  # migrations run on a direct connection
    from django.contrib.auth import get_user_model

    _, version, reps = seed_reps(args.sessions)
    users = get_user_model().objects.filter(pk__in=[m.user_id for m in reps])
    return version.id, [login_cookies(user) for user in users]


async def main(args, version_id: int, cookies: list[dict]) -> None:
    import httpx

    # uvicorn closes keep-alive connections idle for 5 s; a think time around that races the close
    # (ReadError). Let the client drop idle connections first.
    limits = httpx.Limits(
        max_connections=args.sessions + 10, max_keepalive_connections=args.sessions + 10, keepalive_expiry=2.0
    )
    with served_app(workers=args.workers) as base:
        await run_phases(args, base, version_id, cookies, limits)


async def run_phases(args, base: str, version_id: int, cookies: list[dict], limits) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        # Warm up (imports, connections, caches).
        await rep_loop(client, base, cookies[0], version_id, 5, [])
        solo, bare_solo = [], []
        await rep_loop(client, base, cookies[0], version_id, 100, solo)
        await bare_loop(client, base, 200, bare_solo)
        crowd, bare_crowd, flood, bare_flood = [], [], [], []
        # 200 reps practicing at once: each reads and types between turns (--think seconds).
        await asyncio.gather(
            *(rep_loop(client, base, c, version_id, args.turns, crowd, args.think) for c in cookies)
        )
        # The bare endpoint under the same load: as many clients, the same pauses.
        await asyncio.gather(
            *(bare_loop(client, base, args.turns, bare_crowd, args.think, c["sessionid"]) for c in cookies)
        )
        # Saturation: every session sends its next line the moment the reply lands.
        started = time.perf_counter()
        await asyncio.gather(*(rep_loop(client, base, c, version_id, args.turns, flood) for c in cookies))
        flood_s = time.perf_counter() - started
        started = time.perf_counter()
        await asyncio.gather(*(bare_loop(client, base, args.turns, bare_flood) for _ in cookies))
        bare_flood_s = time.perf_counter() - started
    print(
        f"CoachHub runner bench — uvicorn workers={args.workers}, PostgreSQL via PgBouncer (transaction pooling), "
        "embedded customer, Redis cache/sessions/queue with a Celery worker (prefork x1) on the same cores, loopback. "
        "server: from the request reaching Django to the reply's `done` event (reported in it); "
        "client: POST → `done` received, load generator on the same cores"
    )
    report("rep turn, 1 session", solo)
    report("bare Django endpoint, 1 client", bare_solo)
    report(f"rep turn, {args.sessions} sessions, think {args.think:g}s", crowd)
    report(f"bare Django endpoint, {args.sessions} clients, think {args.think:g}s", bare_crowd)
    report(f"rep turn, {args.sessions} sessions, no think time", flood)
    report(f"bare Django endpoint, {args.sessions} clients, no think time", bare_flood)
    print(
        f"saturated throughput: {len(flood) / flood_s:.0f} turns/s, bare endpoint {len(bare_flood) / bare_flood_s:.0f} "
        "requests/s (load generator shares the same cores)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--turns", type=int, default=5, help="turns per session in the concurrent phase")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--think", type=float, default=5.0, help="mean seconds a rep reads and types between turns")
    arguments = parser.parse_args()
    asyncio.run(main(arguments, *prepare(arguments)))
