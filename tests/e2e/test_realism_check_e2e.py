"""In a real browser: in an organization that publishes only scenarios that pass the realism check,
an enablement lead is refused, clicks "Check this scenario", reads the report, and publishes."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.models import Membership, Role, Tenant
from scenarios import services as scenario_services
from scenarios.library import library_get
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page, email: str, password: str) -> None:
    # conftest's log_in, with exact labels: the login page may also offer single sign-on.
    page.goto("/accounts/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_load_state("networkidle")


def test_lead_checks_a_scenario_reads_the_report_and_publishes(page):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    tenant = Tenant.objects.get(slug="demo")
    lead = Membership.objects.for_tenant(tenant).get(user__email="lead@demo.example").user
    admin = Membership.objects.for_tenant(tenant).filter(role=Role.TENANT_ADMIN).first().user
    tenancy_services.ai_settings_update(
        tenant=tenant, actor=admin, customer_engine="embedded", scorer_engine="embedded",
        block_publish_without_realism_check=True,
    )
    spec = library_get("meal-kit-cancellation").to_dict()
    spec.update(slug="meal-kit-cancellation-checked", title="Cancelling a meal kit, checked")
    scenario = scenario_services.scenario_create(tenant=tenant, actor=lead, spec=spec)
    page.on("dialog", lambda dialog: dialog.accept())  # the "Publish?" confirmation
    _log_in(page, "lead@demo.example", "coachhub-demo")

    page.goto(f"/t/demo/scenarios/{scenario.id}/")
    panel = page.locator("#realism-check")
    assert "No realism check was run for v1 yet." in panel.inner_text()
    page.get_by_role("button", name="Publish draft v1").click()
    assert "only publishes scenarios that pass the realism check" in page.locator(".messages").inner_text()

    # The click returned once the page had started to arrive; the check button is HTMX's, which
    # takes it over only once the page has loaded (before that, the click would post the page away).
    page.wait_for_load_state()
    page.get_by_role("button", name="Check this scenario").click()
    # The simulated reps talk to the customer inside that request: slow on a loaded machine.
    page.get_by_role("button", name="Check this scenario again").wait_for(timeout=90000)
    report = page.locator("#realism-check").inner_text()
    for line in ("Calms down when the rep handles it well", "Escalates when the rep is dismissive",
                 "Winnable within the turn limit", "Every hidden detail can be found", "Stays in character"):
        assert line in report
    assert "Failed" not in report and "Passed" in report and "at the slowest" in report
    screenshot(page, "scenario-realism-report")

    page.get_by_role("button", name="Publish draft v1").click()
    # The page being left shows the refusal in the same place: wait for the new page's message.
    expect(page.locator(".messages")).to_contain_text("Version 1 is published")
    assert "Realism check of v1" in page.locator("#realism-heading").inner_text()
