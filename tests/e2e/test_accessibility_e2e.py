"""Every page, as every role, in real Chromium: axe-core finds no WCAG 2.0/2.1 A/AA violation and
the console stays clean under the CSP (the checks live in conftest.py and run on every page any
browser test visits; this file makes sure every page *is* visited, forms in their error states too)."""

from urllib.parse import urlsplit

import pytest
from django.urls import Resolver404, resolve
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from coachhub.tenancy.demo import DEMO_PASSWORD, seed_demo
from tests.e2e.conftest import _open_page, log_in, page_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROLES = ["rep@demo.example", "manager@demo.example", "lead@demo.example", "admin@demo.example", "ops@demo.example"]
SKIP_PREFIXES = ("/api/v1/", "/api/schema/", "/admin/", "/static/", "/media/", "/accounts/logout")
MAX_PAGES_PER_ROLE = 80


def _route_key(url: str) -> str | None:
    """One visit per route (and per query-free variant): /t/demo/sessions/12/ and /sessions/13/ are
    the same template."""
    parts = urlsplit(url)
    if "format=" in parts.query or "download" in parts.query:
        return None
    if parts.path.startswith(SKIP_PREFIXES) or parts.path.endswith((".csv", ".yaml", ".json", ".webm", ".wav")):
        return None
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    return match.view_name + ("?" + parts.query.split("=")[0] if parts.query else "")


def crawl(page, start: str) -> list[str]:
    """Breadth-first over the links a person can follow, one page per route."""
    origin = urlsplit(page.url)._replace(path="", query="", fragment="").geturl()
    queue, seen, visited = [start], set(), []
    while queue and len(visited) < MAX_PAGES_PER_ROLE:
        url = queue.pop(0)
        key = _route_key(url)
        if key is None or key in seen:
            continue
        seen.add(key)
        try:
            response = page.goto(url)
        except PlaywrightError as exc:  # an export link: a download, not a page
            if "Download is starting" in str(exc):
                continue
            raise
        if response is None or response.headers.get("content-type", "").split(";")[0] != "text/html":
            continue
        visited.append(urlsplit(page.url).path)
        hrefs = page.eval_on_selector_all("a[href]:not([download])", "els => els.map(e => new URL(e.getAttribute('href'), location.href).href)")
        for href in hrefs:
            href = href.split("#")[0]
            if href.startswith(origin):
                queue.append(href)
    return visited


def test_every_page_as_every_role_is_accessible_and_clean(browser, live_server, a11y_init_script):
    seed_demo()
    pages_by_role, problems = {}, []
    for email in ROLES:
        context, page = _open_page(browser, live_server.url, a11y_init_script)
        try:
            log_in(page, email, DEMO_PASSWORD)
            pages_by_role[email] = crawl(page, page.url)
            problems += [f"[{email}] {p}" for p in page_problems(page)]
        finally:
            context.close()
    assert not problems, "\n".join(problems)
    assert len(pages_by_role["rep@demo.example"]) >= 5, pages_by_role
    assert len(pages_by_role["admin@demo.example"]) >= 10, pages_by_role


@pytest.mark.parametrize("path, rendered", [("/api/docs/", ".swagger-ui .info .title"), ("/api/redoc/", "h1")])
def test_the_api_reference_pages_are_accessible_and_clean_under_the_csp(page, live_server, path, rendered):
    """Swagger UI and Redoc, served from our own templates: no inline style or script, no Google Fonts
    (nothing leaves the deployment), a language, and axe finds nothing once the reference is drawn."""
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith((live_server.url, "data:", "blob:")) else None)
    page.goto(live_server.url + path)
    # Drawn by the reference's own script after it has fetched the schema: wait for the title's text.
    expect(page.locator(rendered).first).to_contain_text("CoachHub API")
    assert page.get_attribute("html", "lang") == "en"
    assert not outside, f"the page asked for something outside the deployment: {outside}"
    assert not page_problems(page)
