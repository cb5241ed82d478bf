"""Context bleed: requests and Celery tasks of two tenants interleaved on one thread, one database
connection and one worker never see each other's tenant.

Under ASGI every sync step of every request runs on the same thread (and so the same connection);
streamed replies hop back to it between chunks. On PostgreSQL row-level security adds a second
fence: a statement run under the wrong tenant finds no row and the request or task fails loudly.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient

from coachhub.tenancy.context import get_current_tenant, tenant_context
from coachhub.tenancy.models import Role
from scoring.models import ScoreStatus, SessionScore
from sessions import services as session_services
from sessions.models import PracticeSession, Turn
from tests.conftest import build_world
from tests.scoring.factories import ended_session
from tests.sessions.helpers import publish_library_scenario, use_llm_customer
from tests.support.sse import parse_events

LINES = [
    "I'm so sorry about this, I understand how stressful it is.",
    "Could you tell me the order number so I can check it right now?",
    "Here is what I can do: I'll arrange a replacement today and email you by 5pm.",
]


@pytest.mark.django_db
def test_interleaved_streamed_turns_and_pages_of_two_tenants_stay_apart(world_a, world_b, client_for, openai_server):
    worlds = {"acme": world_a, "bolt": world_b}
    # acme's customer is the LLM: its replies stream, hopping between the event loop and the thread;
    # bolt's is the embedded customer, answered inside the request. Both kinds interleave below.
    use_llm_customer(world_a, openai_server)
    versions = {
        "acme": publish_library_scenario(world_a.tenant, "wrong-suit-before-wedding"),
        "bolt": publish_library_scenario(world_b.tenant, "cafe-internet-outage"),
    }
    sessions: dict[str, list[int]] = {}
    for slug, world in worlds.items():
        rep = client_for(world.member(Role.REP))
        sessions[slug] = []
        for _ in range(3):
            response = rep.post(f"/t/{slug}/sessions/start/", {"version_id": versions[slug].id, "mode": "text"})
            assert response.status_code == 302, response.content
            sessions[slug].append(int(response["Location"].rstrip("/").split("/")[-1]))

    async def say(client: AsyncClient, slug: str, session_id: int, text: str) -> list[tuple[str, dict]]:
        response = await client.post(f"/t/{slug}/sessions/{session_id}/turns/", {"text": text})
        assert response.streaming == (slug == "acme"), "LLM replies stream; embedded ones come whole"
        if response.streaming:
            body = b"".join([chunk async for chunk in response.streaming_content])
        else:
            body = response.content
        return parse_events(body.decode())

    async def page(client: AsyncClient, slug: str) -> str:
        response = await client.get(f"/t/{slug}/sessions/")
        assert response.status_code == 200
        return response.content.decode()

    async def interleave():
        clients = {}
        for slug, world in worlds.items():
            clients[slug] = AsyncClient()
            await clients[slug].aforce_login(world.member(Role.REP).user)
        results = []
        for line in LINES:
            # Every session of both tenants takes a turn at once; list pages load in between.
            jobs = []
            for index in range(3):
                for slug in ("acme", "bolt"):
                    jobs.append(say(clients[slug], slug, sessions[slug][index], line))
                    jobs.append(page(clients[slug], slug))
            results.append(await asyncio.gather(*jobs))
        return results

    rounds = async_to_sync(interleave)()

    assert get_current_tenant() is None, "a tenant stayed in context after the requests"
    for round_results in rounds:
        for position, outcome in enumerate(round_results):
            slug = ("acme", "bolt")[(position // 2) % 2]
            other = world_b if slug == "acme" else world_a
            if position % 2 == 0:  # a turn
                kinds = [kind for kind, _ in outcome]
                assert kinds[0] == "saved" and kinds[-1] == "done", outcome
            else:  # a page
                assert other.tenant.name not in outcome
                assert f"@{other.tenant.slug}.example" not in outcome
    for slug, world in worlds.items():
        with tenant_context(world.tenant):
            for session_id in sessions[slug]:
                session = PracticeSession.objects.get(id=session_id)
                turns = list(Turn.objects.filter(session=session).order_by("index"))
                assert session.version_id == versions[slug].id
                reps = [t.text for t in turns if t.speaker == "rep"]
                assert reps == LINES[: len(reps)] and len(reps) >= 1
                assert [t.index for t in turns] == list(range(len(turns)))
                assert all(t.tenant_id == world.tenant.id for t in turns)
            # Nothing of the other tenant's sessions was written under this tenant.
            assert set(PracticeSession.objects.values_list("id", flat=True)) == set(sessions[slug])


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_one_worker_alternating_tenants_scores_each_session_in_its_own_tenant(workers):
    worlds = [build_world("Alpha Desk", "alpha-desk"), build_world("Beta Desk", "beta-desk")]
    active = []
    for _ in range(3):
        for world in worlds:
            rep = world.member(Role.REP)
            active.append((world, ended_session(rep, status="active", end_reason="", ended_at=None)))
    workers.start()  # one process, one connection, jobs of both tenants in turn
    for world, session in active:
        with tenant_context(world.tenant):
            session_services.session_end(tenant=world.tenant, rep=world.member(Role.REP), session_id=session.id)

    def all_scored() -> bool:
        return all(
            SessionScore.objects.for_tenant(world.tenant).filter(session_id=s.id, status=ScoreStatus.DONE).exists()
            for world, s in active
        )

    deadline = time.monotonic() + 60
    while not all_scored() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all_scored(), workers.logs()
    for world in worlds:
        own = {s.id for w, s in active if w is world}
        scores = list(SessionScore.objects.for_tenant(world.tenant).values_list("session_id", "tenant_id"))
        assert sorted(scores) == sorted((session_id, world.tenant.id) for session_id in own)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # nothing of either tenant is visible with no tenant set
            cursor.execute("SELECT count(*) FROM scoring_sessionscore")
            assert cursor.fetchone()[0] == 0
