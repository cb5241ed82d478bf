"""The one road out to a help desk: requests go only to the vendor's own host for the connection's
subdomain (HELPDESK_API_BASE_URLS, a server setting a tenant can't change), 429s and exhausted
rate-limit windows are waited out as the vendor's headers say, a few times at most, and the API
token never appears in an error, a log line or a URL."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

# What each vendor's API lives on. Tests point these at loopback servers; tenants only ever type the
# subdomain that fills {subdomain}.
DEFAULT_BASE_URLS = {
    "zendesk": "https://{subdomain}.zendesk.com",
    "freshdesk": "https://{subdomain}.freshdesk.com",
    "intercom": "https://api.intercom.io",
}
SUBDOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class PullError(Exception):
    """A sync that can't go on; `message` is for the admin, `stop` means retrying tomorrow won't help
    (a refused token), `code` is stable for audit events."""

    def __init__(self, message: str, *, code: str, stop: bool = False):
        super().__init__(message)
        self.message, self.code, self.stop = message, code, stop


def max_tries() -> int:
    return int(getattr(settings, "HELPDESK_API_MAX_TRIES", 3))


def max_wait_s() -> float:
    """The longest single wait a Retry-After may ask for before the sync gives up for tonight."""
    return float(getattr(settings, "HELPDESK_API_MAX_WAIT_S", 120))


def base_url(vendor: str, subdomain: str) -> str:
    configured = {**DEFAULT_BASE_URLS, **(getattr(settings, "HELPDESK_API_BASE_URLS", None) or {})}
    if subdomain and not SUBDOMAIN.fullmatch(subdomain):
        raise PullError("The stored subdomain is not valid; connect again.", code="bad_subdomain", stop=True)
    return configured[vendor].format(subdomain=subdomain).rstrip("/")


@dataclass
class VendorClient:
    """A small HTTP client bound to one vendor host. `auth` is httpx auth or headers; counts what it did."""

    vendor_label: str
    base: str
    headers: dict = field(default_factory=dict)
    auth: httpx.Auth | tuple | None = None
    requests: int = 0
    waited_s: float = 0.0
    sleep: object = time.sleep

    def __post_init__(self) -> None:
        self._origin = _origin(self.base)
        self._http = httpx.Client(
            timeout=float(getattr(settings, "HELPDESK_API_TIMEOUT_S", 30)), follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "CoachHub helpdesk sync", **self.headers},
            auth=self.auth,
        )

    def close(self) -> None:
        self._http.close()

    def url(self, path_or_url: str) -> str:
        """A path on the vendor's host, or a pagination URL the vendor gave, checked to be on that host."""
        if path_or_url.startswith("/"):
            return self.base + path_or_url
        if _origin(path_or_url) != self._origin:
            raise PullError(f"{self.vendor_label} pointed the next page at another host; the sync stopped.",
                            code="foreign_host")
        return path_or_url

    def request(self, method: str, path_or_url: str, **kwargs) -> httpx.Response:
        url = self.url(path_or_url)
        for attempt in range(1, max_tries() + 1):
            self.requests += 1
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.HTTPError as exc:
                if attempt == max_tries():
                    raise PullError(f"{self.vendor_label} could not be reached ({type(exc).__name__}) after "
                                    f"{attempt} tries; the next nightly sync tries again.", code="unreachable") from None
                self._wait(min(2.0 ** attempt, max_wait_s()))
                continue
            if response.status_code in (401, 403):
                raise PullError(
                    f"{self.vendor_label} refused the API token ({response.status_code}): it may have been revoked "
                    "or lack permission. Nothing from this sync was saved; replace the token to sync again.",
                    code="token_refused", stop=True)
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == max_tries():
                    what = "kept rate-limiting the sync (429)" if response.status_code == 429 else \
                        f"kept failing ({response.status_code})"
                    raise PullError(f"{self.vendor_label} {what} after {attempt} tries; nothing from this sync was "
                                    "saved and the next nightly sync tries again.",
                                    code="rate_limited" if response.status_code == 429 else "vendor_error")
                wait = retry_after_s(response) if response.status_code == 429 else None
                self._wait(wait if wait is not None else min(2.0 ** attempt, max_wait_s()))
                continue
            if response.status_code >= 400:
                raise PullError(f"{self.vendor_label} answered {response.status_code} to {urlsplit(url).path}; "
                                "nothing from this sync was saved.", code="vendor_error")
            self._respect_window(response)
            return response
        raise AssertionError("unreachable")

    def json(self, method: str, path_or_url: str, **kwargs):
        response = self.request(method, path_or_url, **kwargs)
        try:
            return response.json(), response
        except ValueError:
            raise PullError(f"{self.vendor_label} sent something that isn't JSON from {urlsplit(response.url.path).path}.",
                            code="bad_response") from None

    def _respect_window(self, response: httpx.Response) -> None:
        """An exhausted rate-limit window (remaining 0) is waited out before the next request."""
        remaining = _header_int(response, "x-rate-limit-remaining", "x-ratelimit-remaining", "ratelimit-remaining")
        if remaining is None or remaining > 0:
            return
        wait = retry_after_s(response)
        if wait is None:
            reset = _header_int(response, "x-ratelimit-reset", "ratelimit-reset")
            if reset is not None:
                # Intercom: the epoch second the window resets; RFC draft (Zendesk): seconds from now.
                now = timezone.now().timestamp()
                wait = max(0.0, reset - now) if reset > 1_000_000_000 else float(reset)
        if wait:
            self._wait(wait)

    def _wait(self, seconds: float) -> None:
        if seconds > max_wait_s():
            raise PullError(f"{self.vendor_label} asked to wait {seconds:.0f} s before the next request, longer than "
                            "a sync waits; nothing from this sync was saved and the next one tries again.",
                            code="rate_limited")
        if seconds > 0:
            self.waited_s += seconds
            logger.info("helpdesk sync waits %.1f s for %s's rate limit", seconds, self.vendor_label)
            self.sleep(seconds)


def retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - timezone.now().timestamp())


def _header_int(response: httpx.Response, *names: str) -> int | None:
    for name in names:
        value = response.headers.get(name)
        if value is not None:
            try:
                return int(float(value))
            except ValueError:
                return None
    return None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def next_link(response: httpx.Response) -> str | None:
    """The rel="next" URL of an RFC 8288 Link header (Freshdesk's pagination)."""
    link = response.headers.get("link") or ""
    for part in link.split(","):
        match = re.match(r'\s*<([^>]+)>\s*;.*rel="?next"?', part)
        if match:
            return match.group(1)
    return None
