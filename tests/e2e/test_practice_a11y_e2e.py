"""Keyboard and screen-reader paths through practice and review, in real Chromium (axe, CSP and
console checks from conftest run on every page here too)."""

import contextlib
import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.demo import DEMO_PASSWORD, seed_demo
from scoring.models import SessionScore
from sessions.models import PracticeSession, Turn
from tests.e2e.conftest import log_in, screenshot
from tests.sessions.helpers import publish_library_scenario
from tests.sessions.scripts import SUPPORTIVE_SCRIPTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SLUG = "meal-kit-cancellation"


def _focused(page) -> str:
    return page.evaluate("() => (document.activeElement.getAttribute('aria-label') || document.activeElement.id"
                         " || document.activeElement.textContent || '').trim()")


def _tab_to(page, predicate, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if predicate(page):
            return
    raise AssertionError(f"Tab never reached the control; focus ended on {_focused(page)!r}")


def _keyboard_login(page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    _tab_to(page, lambda p: p.get_by_label("Email").evaluate("e => e === document.activeElement"))
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/t/**")


def test_a_rep_practises_a_whole_session_by_keyboard_alone(page, world_a):
    publish_library_scenario(world_a.tenant, SLUG)
    _keyboard_login(page, world_a.member("rep").user.email, "correct-horse-battery")
    page.goto("/t/acme/practice/")
    # Each start button names its scenario for a screen reader ("Practice by text: <title>").
    start = page.get_by_role("button", name="Practice by text").first
    _tab_to(page, lambda p: start.evaluate("e => e === document.activeElement"))
    assert ":" in start.text_content()
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-runner]")
    # The runner's script (deferred) must be listening before Enter sends a line.
    page.wait_for_load_state()
    box = page.get_by_label("Your reply")
    results = page.get_by_role("link", name="See your results")
    # A turn is over when the reply box is back or the session ended (the results link shows):
    # exactly one of them, and only once the whole reply has arrived.
    turn_over = results.or_(box.and_(page.locator(":enabled"))).filter(visible=True)
    _tab_to(page, lambda p: box.evaluate("e => e === document.activeElement"))
    resolved = False
    for line in SUPPORTIVE_SCRIPTS[SLUG]:
        replies = page.locator(".bubble-customer").count()
        page.keyboard.type(line)
        page.keyboard.press("Enter")
        page.locator(".bubble-customer").nth(replies).wait_for()
        # The bubble appears with the reply's first words, before the session may end with it.
        expect(turn_over.first).to_be_visible()
        if results.is_visible():
            resolved = True
            break
        # The reply box was disabled while the customer answered; focus is back in it, not on <body>.
        expect(box).to_be_enabled()
        expect(box).to_be_focused()
    if not resolved:  # end it by keyboard: Tab to "End session", Enter, confirm
        page.once("dialog", lambda dialog: dialog.accept())
        end = page.get_by_role("button", name="End session")
        _tab_to(page, lambda p: end.evaluate("e => e === document.activeElement"))
        page.keyboard.press("Enter")
    else:
        # Focus moved to the results link, so Enter opens them; nothing redirected under the reader.
        expect(results).to_be_focused()
        screenshot(page, "runner-keyboard-resolved")
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Transcript")).to_be_visible()
    screenshot(page, "results-keyboard")
    # The scores arrive by HTMX after the page: let them land first, so a swap can't take the focus
    # from under the Tab presses below.
    expect(page.locator("#scores")).not_to_contain_text("Loading scores…")
    # The results read in order by keyboard: the frustration list's turn links are Tab stops.
    link = page.locator(".moves a").first
    if link.count():
        _tab_to(page, lambda p: link.evaluate("e => e === document.activeElement"))
        href = link.get_attribute("href")
        page.keyboard.press("Enter")
        # The fragment navigation lands a moment after the key press; wait for it.
        expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    with tenant_context(world_a.tenant):
        session = PracticeSession.objects.get()
    assert session.status != "active"


def test_a_refused_line_says_so_and_stays_in_the_box(page, world_a):
    publish_library_scenario(world_a.tenant, SLUG)
    log_in(page, world_a.member("rep").user.email, "correct-horse-battery")
    page.goto("/t/acme/practice/")
    page.get_by_role("button", name="Practice by text").first.click()
    page.wait_for_selector("[data-runner]")
    page.wait_for_load_state()  # the runner's script (deferred) must be listening before Enter
    box = page.get_by_label("Your reply")
    # A 5 MB line (pasted past the box's limit by a script or an old browser): the server refuses it.
    page.evaluate("() => { const t = document.getElementById('text'); t.removeAttribute('maxlength');"
                  " t.value = 'sorry '.repeat(900000); }")
    box.focus()
    page.keyboard.press("Enter")
    status = page.locator("#status")
    expect(status).to_contain_text("not saved")
    expect(status).not_to_contain_text("is saved")
    expect(page.get_by_role("button", name="Retry reply")).to_be_hidden()
    assert box.input_value().startswith("sorry sorry") and len(box.input_value()) > 5_000_000
    expect(box).to_be_focused()
    with tenant_context(world_a.tenant):
        assert Turn.objects.filter(speaker="rep").count() == 0
    page.console_errors.clear()


def test_before_the_practice_rooms_script_runs_send_waits_and_ending_still_asks(page, world_a):
    """A slow network: the page is shown while its scripts are still on the way. Send can't post
    the form plainly (that would open the raw reply stream), and End session asks first."""
    publish_library_scenario(world_a.tenant, SLUG)
    log_in(page, world_a.member("rep").user.email, "correct-horse-battery")
    page.goto("/t/acme/practice/")
    held = []
    scripts = re.compile(r"/static/js/(?:roleplay|app)[.\w]*\.js$")
    page.route(scripts, lambda route: held.append(route))
    page.get_by_role("button", name="Practice by text").first.click()
    page.wait_for_selector("[data-runner]")
    send = page.get_by_role("button", name="Send")
    expect(send).to_be_disabled()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="End session").click()
    assert asked == ["End this practice session?"]
    page.unroute(scripts)
    for route in held:
        with contextlib.suppress(PlaywrightError):  # a request the browser already gave up on
            route.continue_()
    expect(send).to_be_enabled()
    with tenant_context(world_a.tenant):
        assert PracticeSession.objects.get().status == "active"  # the dismissed question ended nothing


def test_a_rejected_score_adjustment_opens_its_panel_and_shows_why(page):
    tenant = seed_demo()
    with tenant_context(tenant):
        session = SessionScore.objects.filter(session__membership__user__email="rep@demo.example").latest("id").session
    log_in(page, "manager@demo.example", DEMO_PASSWORD)
    page.goto(f"/t/demo/sessions/{session.id}/")
    panel = page.locator("details.review-form").first
    panel.locator("summary").click()
    panel.get_by_label("New score (0–100)").fill("80")
    panel.get_by_label("Why").fill("   ")  # only spaces: the browser lets it through, the server refuses
    panel.get_by_role("button", name="Save score").click()
    panel = page.locator("details.review-form").first
    # The panel the rep opened is open too: wait for the answer's panel (its error) before asking.
    expect(panel.get_by_role("alert").first).to_be_visible()
    expect(panel).to_contain_text("This field is required")
    expect(panel).to_have_attribute("open", "")
    described = panel.get_by_label("Why").get_attribute("aria-describedby") or ""
    assert all(page.locator(f"#{ref}").count() == 1 for ref in described.split()), described
    assert page.locator(f"#{described.split()[-1]}").text_content().strip()
    screenshot(page, "score-adjust-error")
