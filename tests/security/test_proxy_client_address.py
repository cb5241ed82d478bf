"""Behind a reverse proxy the login limits count the client address the proxy reports, as uvicorn
(--proxy-headers --forwarded-allow-ips) hands it to Django; from an untrusted peer the header is
ignored, so nobody can dodge the limit by sending X-Forwarded-For themselves."""

from __future__ import annotations

import re

import httpx
import pytest
from django.core.cache import cache

from tests.support.asgi_server import AsgiServer

pytestmark = pytest.mark.django_db(transaction=True)  # the server thread reads committed rows


def _attempt(server_url: str, forwarded_for: str) -> int:
    with httpx.Client(base_url=server_url, timeout=30, headers={"X-Forwarded-For": forwarded_for}) as http:
        page = http.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = http.post("/accounts/login/", data={
            "csrfmiddlewaretoken": token, "username": f"nobody-{forwarded_for}@x.example", "password": "wrong",
        })
        return response.status_code


def test_login_limit_keys_on_the_address_a_trusted_proxy_reports(settings):
    settings.LOGIN_RATE = "2/m"
    cache.clear()
    with AsgiServer(proxy_headers=True, forwarded_allow_ips="127.0.0.1") as server:
        first = [_attempt(server.url, "203.0.113.7") for _ in range(3)]
        other = _attempt(server.url, "198.51.100.9")
    assert first == [200, 200, 429] and other == 200


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(settings):
    settings.LOGIN_RATE = "2/m"
    cache.clear()
    with AsgiServer(proxy_headers=True, forwarded_allow_ips="10.255.255.1") as server:
        statuses = [_attempt(server.url, f"203.0.113.{n}") for n in range(3)]
    assert statuses == [200, 200, 429]  # all three came from 127.0.0.1, whatever the header said
