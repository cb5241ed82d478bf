"""AI settings can't turn the server into a proxy onto the private network, and a saved API key is
never sent to a host other than the one it was saved for."""

from __future__ import annotations

import asyncio
import logging

import pytest

from coachhub.core.errors import ApplicationError
from coachhub.core.llm import LLMUnavailable, astream_chat, chat_complete
from coachhub.tenancy import selectors
from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import AISettings
from tests.support.openai_server import OpenAIServer

pytestmark = pytest.mark.django_db

PRIVATE_ENDPOINTS = [
    "http://127.0.0.1:6379/v1",  # Redis on the same host
    "http://localhost:8000/v1",
    "http://10.0.0.5/v1",
    "http://172.16.3.4:8080/v1",
    "http://192.168.1.10/v1",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[::1]:11434/v1",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:127.0.0.1]/v1",  # IPv4-mapped loopback
    "http://0.0.0.0:8000/v1",
    "http://2130706433/v1",  # 127.0.0.1 as one decimal number
    "http://100.64.0.1/v1",  # carrier-grade NAT (shared address space)
]


def _post(client, **fields):
    data = {"customer_engine": "llm", "scorer_engine": "embedded", "llm_model": "gpt-4o-mini", **fields}
    return client.post("/t/acme/settings/ai/", data)


@pytest.mark.parametrize("url", PRIVATE_ENDPOINTS)
def test_admin_cannot_point_the_llm_at_private_loopback_or_metadata_addresses(world_a, client_for, settings, url):
    settings.LLM_ALLOW_PRIVATE_ENDPOINTS = False
    response = _post(client_for(world_a.member("tenant_admin")), llm_base_url=url, llm_api_key="sk-secret")
    assert response.status_code == 400
    # (Django's URL field already refuses a few spellings, e.g. an address as one decimal number.)
    assert b"private, loopback or link-local address" in response.content or b"Enter a valid URL" in response.content
    # The service (every entry point) refuses it by itself too, resolving the name it was given.
    with pytest.raises(ApplicationError) as refused:
        tenancy_services.ai_settings_update(
            tenant=world_a.tenant, actor=world_a.member("tenant_admin").user, customer_engine="llm",
            scorer_engine="embedded", llm_base_url=url, llm_model="m", llm_api_key="sk-secret",
        )
    assert refused.value.code == "llm_endpoint_refused" and "llm_base_url" in refused.value.fields
    with tenant_context(world_a.tenant):
        assert not AISettings.objects.filter(tenant=world_a.tenant).exists()


@pytest.mark.parametrize("url", ["ftp://api.example.com/v1", "file:///etc/passwd", "gopher://10.0.0.1:6379/_INFO"])
def test_only_http_and_https_endpoints_are_accepted(world_a, client_for, settings, url):
    settings.LLM_ALLOW_PRIVATE_ENDPOINTS = True  # even where the operator allows private ones
    response = _post(client_for(world_a.member("tenant_admin")), llm_base_url=url)
    assert response.status_code == 400
    assert b"must start with https://" in response.content or b"Enter a valid URL" in response.content
    with pytest.raises(ApplicationError, match="must start with https://"):
        tenancy_services.ai_settings_update(
            tenant=world_a.tenant, actor=world_a.member("tenant_admin").user, customer_engine="llm",
            scorer_engine="embedded", llm_base_url=url, llm_model="m",
        )


def test_an_operator_may_allow_private_endpoints(world_a, client_for, settings):
    settings.LLM_ALLOW_PRIVATE_ENDPOINTS = True
    response = _post(client_for(world_a.member("tenant_admin")), llm_base_url="http://10.0.0.5:8000/v1")
    assert response.status_code == 302


def test_a_saved_private_endpoint_is_refused_when_the_call_connects_and_the_reason_stays_in_the_log(
    world_a, openai_server, settings, caplog
):
    # Saved while the operator allowed private endpoints (or a name that resolved publicly when it
    # was saved): the address is checked again when the connection opens, and nothing is sent.
    settings.LLM_ALLOW_PRIVATE_ENDPOINTS = True
    tenancy_services.ai_settings_update(
        tenant=world_a.tenant, actor=world_a.member("tenant_admin").user, customer_engine="llm",
        scorer_engine="embedded", llm_base_url=openai_server.base_url, llm_model="m", llm_api_key="sk-tenant-key",
    )
    settings.LLM_ALLOW_PRIVATE_ENDPOINTS, settings.LLM_MAX_RETRIES = False, 0
    config = selectors.tenant_llm_config(tenant=world_a.tenant)
    with OpenAIServer() as closed:
        closed_config = type(config)(base_url=closed.base_url, model="m", max_retries=0, allow_private=True)
    messages = [{"role": "user", "content": "hello"}]
    with caplog.at_level(logging.WARNING, logger="coachhub.core.llm"):
        with pytest.raises(LLMUnavailable) as refused:
            chat_complete(config, messages, max_tokens=5)

        async def stream():
            async for _ in astream_chat(config, messages, max_tokens=5):
                pass

        with pytest.raises(LLMUnavailable) as refused_stream:
            asyncio.run(stream())
    assert openai_server.requests == []  # the key never left
    # The rep and admin read the same words as for a closed port; the log says why.
    with pytest.raises(LLMUnavailable) as closed_port:
        chat_complete(closed_config, messages, max_tokens=5)
    strip = lambda message: message.split(" at ")[0]  # noqa: E731 (the host differs)
    assert strip(refused.value.message) == strip(closed_port.value.message) == strip(refused_stream.value.message)
    assert "private" not in refused.value.message and "127.0.0.1" in caplog.text and "refused" in caplog.text


def test_changing_the_endpoints_host_requires_the_api_key_again(world_a, client_for, settings):
    settings.LLM_ALLOW_PRIVATE_ENDPOINTS = True
    admin = client_for(world_a.member("tenant_admin"))
    assert _post(admin, llm_base_url="https://api.one.example/v1", llm_api_key="sk-first").status_code == 302
    # Same host, another path: the key stays.
    assert _post(admin, llm_base_url="https://api.one.example/v2").status_code == 302
    assert selectors.tenant_llm_config(tenant=world_a.tenant).api_key == "sk-first"
    for other in ("https://attacker.example/v1", "https://api.one.example:8443/v2", "http://api.one.example/v2"):
        response = _post(admin, llm_base_url=other)
        assert response.status_code == 400 and b"enter the key for the new endpoint" in response.content
        config = selectors.tenant_llm_config(tenant=world_a.tenant)
        assert (config.base_url, config.api_key) == ("https://api.one.example/v2", "sk-first")
    assert _post(admin, llm_base_url="https://api.two.example/v1", llm_api_key="sk-second").status_code == 302
    assert selectors.tenant_llm_config(tenant=world_a.tenant).api_key == "sk-second"
    assert _post(admin, llm_base_url="http://10.1.1.1/v1", clear_api_key="on").status_code == 302
    assert selectors.tenant_llm_config(tenant=world_a.tenant).api_key == ""
