"""OpenAI SDK clients for a configuration, refusing endpoints on private addresses unless allowed."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
import weakref
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai

from .config import PLACEHOLDER_API_KEY, LLMConfig

logger = logging.getLogger(__name__)

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
