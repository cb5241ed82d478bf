"""XSS corpus: hostile text in every free-text field people control, rendered in real Chromium.

Each page is rendered twice: once as served (our CSP on) and once with the browser ignoring CSP,
so the test proves escaping alone keeps the payloads inert (defense in depth). A payload that ran
would set `window.__xss`, open a dialog, or (with CSP on) make Chromium report a CSP violation;
every payload must instead show up literally, as text.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from reports import services as report_services
from scenarios import services as scenario_services
from scoring import services as scoring_services
from tests.e2e import conftest as e2e
from tests.e2e.conftest import screenshot
from tests.scenarios.factories import spec_dict
from tests.scoring.factories import scored_session
from tests.security.payloads import LONG, MARKUP, NOT_MARKUP, PAYLOADS
from tests.sessions.helpers import publish_library_scenario

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The Playwright fixtures live in tests/e2e/conftest.py; naming them here makes them visible here.
playwright_instance = e2e.playwright_instance
browser = e2e.browser

# Elements and attributes that exist only if a payload became markup.
INJECTED = "script:not([src]), iframe, svg, img[src='x'], [onerror], [onload], [hx-on\\:load], a[href^='javascript']"
CSP_MODES = [pytest.param(False, id="csp-on"), pytest.param(True, id="csp-bypassed")]


def _norm(text: str) -> str:
    return " ".join(text.split())


class Visitor:
    """Chromium as one user, with or without CSP, collecting every sign of script execution."""

    def __init__(self, browser, live_server, user, *, bypass_csp: bool):
        client = Client()
        client.force_login(user)
        self.bypass_csp = bypass_csp
        self.context = browser.new_context(
            base_url=live_server.url, bypass_csp=bypass_csp, viewport={"width": 1200, "height": 850}
        )
        self.context.add_cookies([{
            "name": django_settings.SESSION_COOKIE_NAME,
            "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
            "url": live_server.url,
        }])
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)
        self.dialogs: list[str] = []
        self.csp_violations: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("console", self._console)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def open(self, url: str):
        response = self.page.goto(url)
        assert response is not None and response.status == 200, f"{url}: {response and response.status}"
        self.page.wait_for_load_state("networkidle")
        return self.page

    def assert_inert(self, where: str, shown: list[str]) -> None:
        page = self.page
        text = _norm(page.locator("body").inner_text())
        missing = [payload for payload in shown if _norm(payload) not in text]
        assert not missing, f"{where}: not shown literally: {missing}"
        injected = page.locator(INJECTED).count()
        assert injected == 0, f"{where}: {injected} element(s) came from a payload"
        assert not self.dialogs, f"{where}: a payload opened a dialog: {self.dialogs}"
        # With CSP on, an escaping bug shows as a blocked inline script/handler.
        assert not self.csp_violations, f"{where}: CSP had to block something: {self.csp_violations}"
        if self.bypass_csp:
            # Only here may Playwright evaluate a function: our CSP forbids it otherwise.
            assert page.evaluate("() => window.__xss") is None, f"{where}: a payload ran"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def corpus(world_a, tmp_path, settings):
    """Every payload stored through the services the pages and API use, inside Acme."""
    settings.MEDIA_ROOT = tmp_path / "media"
    w = world_a
    tenant = w.tenant
    admin, lead, manager, rep = (w.member(r) for r in (Role.TENANT_ADMIN, Role.ENABLEMENT_LEAD, Role.MANAGER, Role.REP))
    found: dict = {}
    with tenant_context(tenant):
        for index, payload in enumerate(PAYLOADS):
            tenancy_services.team_create(tenant=tenant, actor=admin.user, name=payload)
            tenancy_services.api_token_create(tenant=tenant, user=admin.user, name=payload)
            invitation, _ = tenancy_services.invitation_create(
                tenant=tenant, actor=admin.user, email=f"invitee{index}@acme.example", full_name=payload,
                role=Role.ENABLEMENT_LEAD,
            )
            if payload in MARKUP:  # these join, so the name becomes a member's name
                found.setdefault("members", []).append(
                    tenancy_services.invitation_accept(
                        invitation=invitation, password="a-long-unguessable-pass-9", full_name=payload
                    )
                )
        # Scenario text refuses markup (scenarios.spec); the rest must still show literally.
        found["scenario"] = scenario_services.scenario_create(
            tenant=tenant, actor=lead.user, spec=spec_dict(
                slug="template-ish", title=NOT_MARKUP[1], opening_line=NOT_MARKUP[2], summary=NOT_MARKUP[0],
            ),
        )
        # A practice session whose rep lines are the payloads, scored by the real embedded scorer.
        lines = [("customer", "I was billed twice and nobody helps.")]
        for payload in [*MARKUP, LONG]:
            lines += [("rep", payload), ("customer", "Go on.")]
        session, score = scored_session(rep, lines=lines)
        behaviors = list(score.behaviors.order_by("id"))
        scoring_services.score_adjust(
            tenant=tenant, actor=manager.user, reviewer=manager, behavior_score=behaviors[0], score=55,
            reason=MARKUP[1],
        )
        scoring_services.turn_comment_add(
            tenant=tenant, actor=manager.user, reviewer=manager, session=session, turn_index=1, text=MARKUP[2],
        )
        scoring_services.turn_comment_add(
            tenant=tenant, actor=manager.user, reviewer=manager, session=session, turn_index=3, text=LONG,
        )
        scoring_services.dispute_open(tenant=tenant, rep=rep, behavior_score=behaviors[1], note=MARKUP[3])
        answered = scoring_services.dispute_open(tenant=tenant, rep=rep, behavior_score=behaviors[2], note=MARKUP[4])
        scoring_services.dispute_resolve(
            tenant=tenant, manager=manager, actor=manager.user, dispute=answered, resolution_note=MARKUP[5],
        )
        # A KPI preview whose source name, column names and rep cells are payloads.
        source = report_services.kpi_source_save(tenant=tenant, actor=manager.user, name=MARKUP[0])
        columns = [MARKUP[4], NOT_MARKUP[1]]
        csv_text = "\n".join([
            ";".join(["agent_email", "week", "CSAT", *columns]),
            ";".join([MARKUP[1], "2025-03-03", "91", "1", "2"]),
        ]) + "\n"
        found["kpi_import"] = report_services.kpi_import_upload(
            tenant=tenant, actor=manager.user, membership=manager, source=source, dry_run=True,
            upload=SimpleUploadedFile("week.csv", csv_text.encode(), content_type="text/csv"),
        )
    found.update(session=session, kpi_columns=columns)
    return found


def _pages(world, corpus) -> list[tuple[str, str, list[str]]]:
    """(role, url, payloads that page must show literally)."""
    slug = world.tenant.slug
    session = corpus["session"]
    return [
        (Role.TENANT_ADMIN, f"/t/{slug}/teams/", PAYLOADS),
        (Role.TENANT_ADMIN, f"/t/{slug}/people/", PAYLOADS),
        (Role.TENANT_ADMIN, f"/t/{slug}/people/{corpus['members'][0].id}/", [MARKUP[0]]),
        (Role.TENANT_ADMIN, f"/t/{slug}/tokens/", PAYLOADS),
        (Role.TENANT_ADMIN, f"/t/{slug}/audit/", [MARKUP[0], NOT_MARKUP[1]]),
        (Role.ENABLEMENT_LEAD, f"/t/{slug}/scenarios/", [NOT_MARKUP[1]]),
        (Role.ENABLEMENT_LEAD, f"/t/{slug}/scenarios/{corpus['scenario'].id}/", NOT_MARKUP[:3]),
        (Role.MANAGER, f"/t/{slug}/sessions/{session.id}/", [*MARKUP, LONG]),
        (Role.MANAGER, f"/t/{slug}/sessions/{session.id}/scores/", MARKUP[1:6]),
        (Role.REP, f"/t/{slug}/sessions/{session.id}/", [*MARKUP, LONG]),
        (Role.MANAGER, f"/t/{slug}/kpis/imports/{corpus['kpi_import'].id}/", [MARKUP[0], MARKUP[1], *corpus["kpi_columns"]]),
    ]


@pytest.mark.parametrize("bypass_csp", CSP_MODES)
def test_stored_payloads_render_as_text(browser, live_server, world_a, corpus, bypass_csp):
    visitors: dict[str, Visitor] = {}
    try:
        for role, url, shown in _pages(world_a, corpus):
            if role not in visitors:
                visitors[role] = Visitor(browser, live_server, world_a.member(role).user, bypass_csp=bypass_csp)
            visitor = visitors[role]
            visitor.open(url)
            visitor.assert_inert(f"{role} {url}", shown)
        if not bypass_csp:
            visitors[Role.TENANT_ADMIN].open(f"/t/{world_a.tenant.slug}/people/")
            screenshot(visitors[Role.TENANT_ADMIN].page, "xss-corpus-people")
    finally:
        for visitor in visitors.values():
            visitor.close()


@pytest.mark.parametrize("bypass_csp", CSP_MODES)
def test_typed_rep_turns_show_literally_in_the_chat(browser, live_server, world_a, bypass_csp):
    publish_library_scenario(world_a.tenant, "meal-kit-cancellation")
    visitor = Visitor(browser, live_server, world_a.member(Role.REP).user, bypass_csp=bypass_csp)
    try:
        page = visitor.open(f"/t/{world_a.tenant.slug}/practice/")
        page.get_by_role("button", name="Practice by text").first.click()
        page.wait_for_selector("[data-runner]")
        typed = [MARKUP[0], MARKUP[1], MARKUP[4], NOT_MARKUP[1]]
        for payload in typed:
            before = page.locator(".bubble-customer").count()
            page.get_by_label("Your reply").fill(payload)
            page.get_by_role("button", name="Send").click()
            page.locator(".bubble-customer").nth(before).wait_for()
            assert page.locator(".bubble-rep p").last.inner_text() == payload
        visitor.assert_inert("runner, live", typed)
        page.reload()
        page.wait_for_load_state("networkidle")
        visitor.assert_inert("runner, reloaded", typed)
    finally:
        visitor.close()


@pytest.mark.parametrize("bypass_csp", CSP_MODES)
def test_scenario_form_refuses_markup_and_shows_it_escaped(browser, live_server, world_a, bypass_csp):
    lead = world_a.member(Role.ENABLEMENT_LEAD)
    with tenant_context(world_a.tenant):
        scenario = scenario_services.scenario_create(
            tenant=world_a.tenant, actor=lead.user, spec=spec_dict(slug="plain", title="Plain scenario")
        )
    typed = {
        "Title": MARKUP[4],  # </textarea><script>…: breaks out of a textarea if echoed raw
        "Situation": MARKUP[4],
        "Hidden details": MARKUP[1],
        "Policies": MARKUP[0],
        "Opening line": MARKUP[2],
    }
    visitor = Visitor(browser, live_server, lead.user, bypass_csp=bypass_csp)
    try:
        page = visitor.open(f"/t/{world_a.tenant.slug}/scenarios/{scenario.id}/edit/")
        for label, payload in typed.items():
            page.get_by_label(label, exact=True).fill(payload)
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_load_state("networkidle")
        assert "must be plain text" in page.locator("body").inner_text()
        for label, payload in typed.items():
            assert page.get_by_label(label, exact=True).input_value() == payload, f"{label} lost or mangled"
        visitor.assert_inert("scenario form refusal", [])
        if not bypass_csp:
            screenshot(page, "xss-corpus-scenario-refusal")
    finally:
        visitor.close()
