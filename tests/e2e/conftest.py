"""Real Chromium (Debian's) driven by Playwright against Django's live server.

Every page a browser test opens is checked, without the test asking:
- axe-core (npm ``axe-core``, installed on first use into a cache directory) is injected into
  every document; before the page navigates away, and when the test ends, it runs over the page's
  current state (and after each HTMX swap), and any WCAG 2.0/2.1 A or AA violation fails the test
  with the rule, the elements and the page;
- any Content-Security-Policy violation, uncaught script error or console error fails the test too
  (a 4xx answer the test provoked on purpose is the page's business, not the console's: the
  "Failed to load resource … status of 4xx" line is the only console error allowed).
"""

import fcntl
import json
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

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
AXE_VERSION = "4.10.3"
TOOLS_DIR = Path(os.environ.get("COACHHUB_TEST_TOOLS", Path.home() / ".cache" / "coachhub-test-tools"))
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Set A11Y_REPORT=<file> to append one JSON line per checked page state (violation counts by rule).
A11Y_REPORT = os.environ.get("A11Y_REPORT")

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body
# are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# expect(...) waits as long as a page's own actions do (15 s below), not Playwright's 5 s: on a
# loaded 2-core runner a page's script, an HTMX swap or a reply can take longer than 5 s to land.
EXPECT_TIMEOUT_MS = 15000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def chromium_missing() -> bool:
    return not (Path(CHROMIUM).exists() or shutil.which("chromium"))


def axe_source() -> str:
    """axe.min.js, installed with npm into TOOLS_DIR the first time (a lock keeps parallel workers
    from installing it twice)."""
    script = TOOLS_DIR / "node_modules" / "axe-core" / "axe.min.js"
    package = TOOLS_DIR / "node_modules" / "axe-core" / "package.json"

    def installed() -> bool:
        return script.exists() and json.loads(package.read_text()).get("version") == AXE_VERSION

    if not installed():
        TOOLS_DIR.mkdir(parents=True, exist_ok=True)
        with open(TOOLS_DIR / ".install.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not installed():
                npm = shutil.which("npm")
                if npm is None:
                    pytest.fail("Browser tests need npm (Node 20) to install axe-core: apt-get install npm")
                subprocess.run(
                    [npm, "install", "--prefix", str(TOOLS_DIR), f"axe-core@{AXE_VERSION}",
                     "--no-audit", "--no-fund", "--no-save", "--loglevel=error"],
                    check=True,
                )
    return script.read_text()


# Runs in every document before the page's own scripts (Playwright injects it outside the CSP).
A11Y_HOOK = """
(() => {
  if (window.top !== window || window.__coachhubA11y || !/^https?:$/.test(location.protocol)) return;
  const state = { results: [], csp: [], chain: Promise.resolve(), timer: null };
  window.__coachhubA11y = state;
  const where = () => location.pathname + location.search;
  document.addEventListener("securitypolicyviolation", (e) => {
    state.csp.push({ page: where(), directive: e.violatedDirective, blocked: e.blockedURI,
                     source: (e.sourceFile || "") + ":" + e.lineNumber, sample: e.sample });
  });
  // Let the page's own layout reactions run first (a viewport change just made is seen by its
  // ResizeObservers only at the next frame), so axe judges what a person would meet.
  const settle = () => new Promise((done) => {
    const fallback = setTimeout(done, 100);
    requestAnimationFrame(() => setTimeout(() => { clearTimeout(fallback); done(); }, 0));
  });
  // A document the test left (or ended on) right after a click's navigation committed may still be
  // parsing, its deferred scripts (app.js labels scroll regions) not run yet: judge it once it has
  // loaded. If its loading was stopped instead, judge it as it stands after a while.
  const loaded = () => document.readyState === "complete" ? Promise.resolve() : new Promise((done) => {
    const fallback = setTimeout(done, 3000);
    window.addEventListener("load", () => { clearTimeout(fallback); done(); }, { once: true });
  });
  const check = () => loaded().then(settle).then(() => window.axe.run(document, {
      runOnly: { type: "tag", values: %(tags)s }, resultTypes: ["violations"],
    }).then((r) => {
      state.results.push({ page: where(), violations: r.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.join(" "), html: n.html.slice(0, 240),
                                     summary: (n.failureSummary || "").slice(0, 300) })),
      })) });
    }, (err) => { state.results.push({ page: where(), error: String(err) }); }));
  state.queue = () => (state.chain = state.chain.then(check));
  const soon = () => { clearTimeout(state.timer); state.timer = setTimeout(state.queue, 60); };
  state.flush = () => {
    clearTimeout(state.timer);
    return state.queue().then(() => {
      const out = { id: state.id, results: state.results, csp: state.csp };
      state.results = []; state.csp = [];
      return out;
    });
  };
  state.id = Math.random().toString(36).slice(2);
  // The binding Playwright exposes may arrive after this script: look it up when needed.
  const report = (message) => {
    if (typeof window.__coachhubA11yReport === "function") return window.__coachhubA11yReport(message);
  };
  document.addEventListener("DOMContentLoaded", () => report({ kind: "ready", id: state.id }));
  window.addEventListener("load", soon);
  document.addEventListener("htmx:afterSettle", soon);
  // Leaving the page: Python holds the navigation's request until this document has been checked.
  window.addEventListener("beforeunload", () => {
    state.flush().then((out) => report({ kind: "final", ...out }));
  });
})();
"""

_FLUSH = "() => window.__coachhubA11y ? window.__coachhubA11y.flush() : null"
_ALLOWED_CONSOLE = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")


class PageChecks:
    """What the checks found on one page (tab) over a test."""

    def __init__(self, page):
        self.page = page
        self.results: list[dict] = []
        self.csp: list[dict] = []
        self.script_errors: list[str] = []
        self.document: str | None = None  # the id of the document on screen, once it has loaded
        self.checked = False

    def flush(self) -> None:
        url = self.page.url
        if not url.startswith("http"):
            return
        # A test may end right after a click whose navigation has only committed: check the page a
        # person would meet, once it has loaded (the hook in the page waits too, for a few seconds).
        self.page.wait_for_load_state("load")
        found = self.page.evaluate(_FLUSH)
        if found:
            self.results.extend(found["results"])
            self.csp.extend(found["csp"])

    def problems(self) -> list[str]:
        out: list[str] = []
        seen: set[tuple] = set()
        for result in self.results:
            if A11Y_REPORT:
                _report(result)
            if "error" in result:
                out.append(f"axe could not run on {result['page']}: {result['error']}")
                continue
            for v in result["violations"]:
                key = (result["page"], v["id"], tuple(n["target"] for n in v["nodes"]))
                if key in seen:
                    continue
                seen.add(key)
                nodes = "\n".join(f"      {n['target']}  {n['html']}\n        {n['summary']}" for n in v["nodes"][:6])
                more = f"\n      … and {len(v['nodes']) - 6} more" if len(v["nodes"]) > 6 else ""
                out.append(f"axe {v['id']} ({v['impact']}) on {result['page']}: {v['help']}\n{nodes}{more}")
        for c in self.csp:
            out.append(f"CSP violation on {c['page']}: {c['directive']} blocked {c['blocked'] or 'inline'} "
                       f"at {c['source']} {c['sample'] or ''}".rstrip())
        out.extend(self.script_errors)
        return out


def _report(result: dict) -> None:
    counts: dict[str, int] = {}
    for v in result.get("violations", []):
        counts[v["id"]] = counts.get(v["id"], 0) + len(v["nodes"])
    line = {"test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0], "page": result["page"], "rules": counts}
    with open(A11Y_REPORT, "a") as f:
        f.write(json.dumps(line) + "\n")


def instrument(context, page) -> PageChecks:
    """Attach the axe, CSP and console checks to a page of a context made with new_context()."""
    checks = PageChecks(page)
    page.a11y = checks
    errors: list[str] = []
    page.console_errors = errors

    def on_console(msg):
        if msg.type == "error":
            errors.append(msg.text)
            if not _ALLOWED_CONSOLE.match(msg.text) and "Content Security Policy" not in msg.text:
                checks.script_errors.append(f"console error on {page.url}: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: checks.script_errors.append(f"uncaught error on {page.url}: {exc}"))

    # A document reports "ready" when it has loaded and "final" (its last check) once it is being
    # left; a navigation's request waits until the document it leaves has sent its final check.
    held: list = []

    def on_report(source, message):
        if message["kind"] == "ready":
            checks.document, checks.checked = message["id"], False
            return
        checks.results.extend(message["results"])
        checks.csp.extend(message["csp"])
        if message["id"] == checks.document:
            checks.checked = True
            while held:
                held.pop().continue_()

    page.expose_binding("__coachhubA11yReport", on_report)

    def before_navigation(route):
        request = route.request
        if (request.is_navigation_request() and request.frame == page.main_frame
                and checks.document and not checks.checked):
            held.append(route)
            return
        route.continue_()

    page.route(lambda url: "/static/" not in url and "/media/" not in url, before_navigation)
    return checks


def page_problems(page) -> list[str]:
    """Run the checks on the page's current state; everything found since the last call."""
    checks: PageChecks = page.a11y
    checks.flush()
    problems = checks.problems()
    checks.results, checks.csp, checks.script_errors = [], [], []
    return problems


def assert_page_clean(page) -> None:
    """Run the checks on the page's current state and fail with everything found so far."""
    problems = page_problems(page)
    if problems:
        pytest.fail("The browser found problems on the pages this test visited:\n" + "\n".join(problems),
                    pytrace=False)


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


@pytest.fixture(scope="session")
def a11y_init_script() -> str:
    return axe_source() + "\n" + A11Y_HOOK % {"tags": json.dumps(WCAG_TAGS)}


def new_checked_context(browser, a11y_init_script: str, **options):
    """A browser context whose pages all carry the axe/CSP/console checks."""
    context = browser.new_context(**options)
    context.add_init_script(script=a11y_init_script)
    return context


def _open_page(browser, base_url: str, init_script: str):
    context = new_checked_context(browser, init_script, base_url=base_url, viewport={"width": 1200, "height": 850})
    page = context.new_page()
    page.set_default_timeout(EXPECT_TIMEOUT_MS)
    instrument(context, page)
    return context, page


def warm_up(base_url: str) -> None:
    """The first request imports every URL module (and what they load): make it before the browser's
    first page, so a slow start under load doesn't eat that page's timeout."""
    with urllib.request.urlopen(f"{base_url}/healthz", timeout=120) as response:
        response.read()


@pytest.fixture
def page(browser, live_server, a11y_init_script):
    warm_up(live_server.url)
    context, page = _open_page(browser, live_server.url, a11y_init_script)
    yield page
    try:
        assert_page_clean(page)
    finally:
        context.close()


@pytest.fixture
def asgi_page(browser, transactional_db, a11y_init_script):
    """A page on CoachHub served by uvicorn (ASGI), as in production: streamed replies arrive as
    they are produced, where Django's WSGI live server sends them whole."""
    from tests.support.asgi_server import AsgiServer

    with AsgiServer() as server:
        warm_up(server.url)
        context, page = _open_page(browser, server.url, a11y_init_script)
        yield page
        try:
            assert_page_clean(page)
        finally:
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
