"""In a real browser with a real worker: a rep who types nonsense sees a score near zero with honest
rationales, a better version about the customer's problem, and no zero-based policy number."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_roleplay_e2e import SLUG, _login, _start
from tests.sessions.helpers import publish_library_scenario

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_session_of_nonsense_scores_near_zero_in_the_browser(page, world_a, workers):
    workers.wait_ready(workers.start())  # a worker's boot can take tens of seconds on a loaded machine
    publish_library_scenario(world_a.tenant, SLUG)
    _login(page, world_a.member("rep"))
    _start(page, "Practice by text")
    for line in ("asdf qwer zxcv", "?????"):
        before = page.locator(".bubble-customer").count()
        page.get_by_label("Your reply").fill(line)
        page.get_by_role("button", name="Send").click()
        page.locator(".bubble-customer").nth(before).wait_for()
        expect(page.get_by_role("button", name="Send")).to_be_enabled()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="End session").click()
    scores = page.locator("#scores")
    # Written by the worker, whose first job loads the scorer's model: generous on a loaded machine.
    expect(scores).to_contain_text("Practice next", timeout=90000)
    overall = int(scores.locator(".score-big").inner_text())
    assert overall <= 15
    text = scores.inner_text()
    assert "earn nothing" in text
    better = text.split("Practice next", 1)[1].lower()
    assert "asdf" not in better and "?????" not in better
    assert not re.search(r"\bpolic(?:y|ies) 0\b", text)
    screenshot(page, "results-nonsense")
