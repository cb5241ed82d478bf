"""Real Chromium (Debian's) driven by Playwright against Django's live server."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body
# are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def chromium_missing() -> bool:
    return not (Path(CHROMIUM).exists() or shutil.which("chromium"))


# Module scope, not session: Playwright's sync API keeps an event loop running in this thread while
# it is open, and tests of other modules on the same worker (asyncio.run) must not find one.
@pytest.fixture(scope="module")
def playwright_instance():
    if chromium_missing():
        pytest.fail(f"Browser tests need Debian's chromium at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def _open_page(browser, base_url: str):
    context = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 850})
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = errors
    return context, page


@pytest.fixture
def page(browser, live_server):
    context, page = _open_page(browser, live_server.url)
    yield page
    context.close()


@pytest.fixture
def asgi_page(browser, transactional_db):
    """A page on CoachHub served by uvicorn (ASGI), as in production: streamed replies arrive as
    they are produced, where Django's WSGI live server sends them whole."""
    from tests.support.asgi_server import AsgiServer

    with AsgiServer() as server:
        context, page = _open_page(browser, server.url)
        yield page
        context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")
