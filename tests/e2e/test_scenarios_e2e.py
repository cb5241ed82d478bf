"""In a real browser: an enablement lead writes a scenario (fixing one inline error), previews,
publishes and assigns it to the demo team; the rep then finds it on their home page."""

import contextlib
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.e2e.conftest import log_in, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _fill(page, label: str, value: str) -> None:
    page.get_by_label(label, exact=True).fill(value)


def test_lead_authors_publishes_and_assigns_then_rep_sees_it(page):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    page.on("dialog", lambda dialog: dialog.accept())  # the "Publish?" confirmation
    log_in(page, "lead@demo.example", "coachhub-demo")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Scenarios").click()
    page.get_by_role("link", name="New scenario").click()
    _fill(page, "Title", "Late delivery & a birthday")
    page.get_by_label("Moment").select_option("delayed_resolution")
    _fill(page, "Summary for the rep", "Sam's birthday cake arrived a day late. Apologise, explain, and make it right.")
    _fill(page, "Customer's name", "Sam <Sammy> O'Neil")
    _fill(page, "What the customer wants", "a refund for the cake and the delivery fee")
    _fill(page, "Situation", "Ordered a cake for Saturday; it arrived Sunday.")
    _fill(page, "Facts the customer knows", "Order 5512.\nPaid $48 plus $9 delivery.")
    _fill(page, "Hidden details", "The party was for my daughter | daughter, who was it for")
    _fill(page, "Opening line", "My daughter's birthday cake came a day late. I want my money back.")
    _fill(page, "Policies", "Refund the delivery fee for any late delivery.\nRefund the item when it arrived after the event.")
    _fill(page, "Success criteria", "Apologises and refunds both the cake and the fee.")
    _fill(page, "Rubric", "empathy: 60\nclarity: 30")
    page.get_by_role("button", name="Save draft").click()
    # The click returns once the answer has started to arrive; the preview button below is HTMX's,
    # which takes it over only once the page has loaded.
    page.wait_for_load_state()

    # Two things to fix, each explained on its own field.
    assert page.locator("#field-rubric .field-error").inner_text() == (
        "Weights must add up to 100 (they add up to 90)."
    )
    assert "must be plain text" in page.locator("#field-persona_name .field-error").inner_text()
    screenshot(page, "scenario-form-errors")
    # The invalid form answered 400 on purpose; Chromium logs that as a failed load.
    assert page.console_errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    page.console_errors.clear()
    _fill(page, "Customer's name", "Sam O'Neil")
    _fill(page, "Rubric", "empathy: 60\nclarity: 40")
    page.get_by_role("button", name="Preview the rep's brief").click()
    brief = page.locator("#form-preview article")
    brief.wait_for()
    assert "Refund the delivery fee" in brief.inner_text() and "daughter" not in brief.inner_text().lower()
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Late delivery & a birthday")
    page.get_by_role("link", name="Rep's view").click()
    page.wait_for_load_state()  # the whole brief, not the part that has arrived
    assert "Policies you must follow" in page.content()
    screenshot(page, "scenario-brief")
    page.go_back()
    page.get_by_role("button", name="Publish draft v1").click()
    # The page may come back from the history with the draft's "saved" message in the same place.
    expect(page.locator(".messages")).to_contain_text("Version 1 is published")
    screenshot(page, "scenario-detail")

    page.get_by_role("link", name="Assign", exact=True).click()
    page.get_by_label("Frontline Support").check()
    page.get_by_label("Focus behavior").select_option("empathy")
    screenshot(page, "assignment-form")
    page.get_by_role("button", name="Assign", exact=True).click()
    assigned = re.compile(r"Assigned “Late delivery & a birthday” to \d+ rep\(s\)\.")
    expect(page.locator(".messages")).to_contain_text(assigned)
    screenshot(page, "assignment-detail")
    assert not page.console_errors, page.console_errors

    page.get_by_role("button", name="Log out").click()
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, "rep@demo.example", "coachhub-demo")
    assignments = page.locator("#rep-assignments-heading").locator("..")
    assert "Late delivery & a birthday" in assignments.inner_text()
    assert "Focus: Empathy" in assignments.inner_text()
    screenshot(page, "rep-home-assignments-phone")
    assert not page.console_errors, page.console_errors


def test_scenario_pages_read_well_at_phone_width(page):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, "lead@demo.example", "coachhub-demo")
    for path, name in (
        ("/t/demo/scenarios/", "scenario-list-phone"),
        ("/t/demo/scenarios/library/", "scenario-library-phone"),
        ("/t/demo/scenarios/new/", "scenario-form-phone"),
        ("/t/demo/assignments/", "assignment-list-phone"),
    ):
        page.goto(path)
        # Nothing wider than the screen: no sideways scrolling of the page itself.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
        screenshot(page, name)
    assert not page.console_errors, page.console_errors


def test_the_preview_button_waits_for_its_script_instead_of_doing_nothing(page):
    """On a slow network the form is shown before HTMX arrives: the preview button, which only
    HTMX can carry out, is disabled until then, and works once it is there."""
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    log_in(page, "lead@demo.example", "coachhub-demo")
    held = []
    scripts = re.compile(r"/static/(?:vendor/htmx|js/app)[-.\w]*\.js$")
    page.route(scripts, lambda route: held.append(route))
    page.goto("/t/demo/scenarios/new/", wait_until="commit")
    preview = page.get_by_role("button", name="Preview the rep's brief")
    expect(preview).to_be_disabled()
    page.unroute(scripts)
    for route in held:
        with contextlib.suppress(PlaywrightError):  # a request the browser already gave up on
            route.continue_()
    expect(preview).to_be_enabled()
    preview.click()
    expect(page.locator("#form-preview")).to_contain_text("Title")  # what still needs filling in
