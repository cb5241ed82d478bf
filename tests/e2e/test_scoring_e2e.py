"""In a real browser with a real Celery worker on Redis: a session ended in the browser shows its
scores, evidence and focus behavior within seconds."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_roleplay_e2e import SLUG, _login, _start
from tests.sessions.helpers import publish_library_scenario
from tests.sessions.scripts import SUPPORTIVE_SCRIPTS

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_ended_session_shows_scores_from_a_real_worker(page, world_a, workers):
    workers.wait_ready(workers.start())  # a worker's boot can take tens of seconds on a loaded machine
    publish_library_scenario(world_a.tenant, SLUG)
    _login(page, world_a.member("rep"))
    _start(page, "Practice by text")
    for line in SUPPORTIVE_SCRIPTS[SLUG][:2]:
        before = page.locator(".bubble-customer").count()
        page.get_by_label("Your reply").fill(line)
        page.get_by_role("button", name="Send").click()
        page.locator(".bubble-customer").nth(before).wait_for()
        expect(page.get_by_role("button", name="Send")).to_be_enabled()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="End session").click()
    page.get_by_role("heading", name="Frustration curve").wait_for()
    # The scores partial polls until the worker has written them (its first job loads the scorer's
    # model: generous on a loaded machine).
    scores = page.locator("#scores")
    expect(scores).to_contain_text("Empathy", timeout=90000)
    expect(scores).to_contain_text("Practice next")
    evidence = scores.locator("a[href^='#turn-']").first
    expect(evidence).to_be_visible()
    target = evidence.get_attribute("href")
    evidence.click()
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))
    screenshot(page, "results-scored")
