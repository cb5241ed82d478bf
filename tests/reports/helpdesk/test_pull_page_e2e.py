"""In a real browser: a tenant admin finds Help-desk connections from the KPI page, is told in words
that a web address isn't a subdomain, connects Zendesk (the token field never echoes the token),
presses Sync now against the loopback Zendesk and reads the last sync's counts. Every page visited
passes the axe / CSP / console checks of tests/e2e (their `page` fixture)."""

import pytest
from playwright.sync_api import expect

# The browser fixtures of tests/e2e (this file lives beside the other pull tests).
from tests.e2e.conftest import (  # noqa: F401
    a11y_init_script,
    browser,
    log_in,
    page,
    playwright_instance,
    screenshot,
)
from tests.factories import PASSWORD
from tests.reports.helpdesk.test_pulls import ZD_TOKEN, add_custom, zendesk_desk

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.reports.urlconf")]


def test_an_admin_connects_zendesk_syncs_and_sees_the_last_sync(page, world_a, vendor_servers):  # noqa: F811
    add_custom(world_a, "first_reply_time")
    desk = vendor_servers.add("zendesk", "acme", zendesk_desk("acme"))

    log_in(page, world_a.member("tenant_admin").user.email, PASSWORD)
    page.goto(f"/t/{world_a.tenant.slug}/kpis/")
    page.get_by_role("link", name="Help-desk connections").click()
    page.get_by_role("link", name="Zendesk").click()
    page.get_by_label("Subdomain").fill("https://acme.zendesk.com")
    page.get_by_label("Agent e-mail").fill("admin@acme.example")
    page.get_by_label("API token").fill(ZD_TOKEN)
    page.get_by_role("button", name="Connect").click()
    expect(page.locator(".field-errors")).to_contain_text("Type only “acme”")
    page.wait_for_load_state()
    assert ZD_TOKEN not in page.content()

    page.get_by_label("Subdomain").fill("acme")
    page.get_by_label("API token").fill(ZD_TOKEN)
    page.get_by_role("button", name="Connect").click()
    page.get_by_role("button", name="Sync now").wait_for()
    expect(page.locator("body")).to_contain_text("Zendesk connected")

    page.get_by_role("button", name="Sync now").click()
    counts = page.locator(".sync-counts")
    counts.wait_for()
    page.wait_for_load_state()
    expect(page.locator("body")).to_contain_text("Synced")
    text = counts.inner_text()
    assert "Tickets fetched\n6" in text and "KPI values created\n12" in text
    assert desk.requests, "the sync went to the loopback Zendesk"
    assert ZD_TOKEN not in page.content()
    screenshot(page, "helpdesk-connection-synced")
