"""Helpers for runner tests: start sessions through the real pages and read SSE streams."""

from __future__ import annotations

import warnings

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from scenarios.library import library_get
from scenarios.models import Scenario, ScenarioVersion
from tests.support.sse import parse_events


def publish_library_scenario(tenant, slug: str = "wrong-suit-before-wedding") -> ScenarioVersion:
    spec = library_get(slug)
    with tenant_context(tenant):
        scenario = Scenario.objects.create(
            tenant=tenant, slug=spec.slug, title=spec.title, moment=spec.moment
        )
        return ScenarioVersion.objects.create(
            tenant=tenant, scenario=scenario, number=1, status="published", spec=spec.to_dict()
        )


def use_llm_customer(world, openai_server, **settings) -> None:
    """The tenant's customer becomes the LLM at the loopback OpenAI-compatible server (its admin sets it)."""
    tenancy_services.ai_settings_update(
        tenant=world.tenant, actor=world.member(Role.TENANT_ADMIN).user, customer_engine="llm",
        scorer_engine="embedded", llm_base_url=openai_server.base_url, llm_model="coachhub-test-model", **settings,
    )


def read_events(response) -> list[tuple[str, dict]]:
    """Consumes an SSE response (async generator under the sync test client) into (event, data)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Django notes it consumes an async iterator synchronously
        body = b"".join(response).decode() if response.streaming else response.content.decode()
    return parse_events(body)
