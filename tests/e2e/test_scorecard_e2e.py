"""A manager opens the weekly scorecard on the demo history, sorts it, drills into a rep and opens a
session's evidence, at desktop and phone width, in real Chromium."""

import re

import pytest
from playwright.sync_api import expect

from coachhub.tenancy.demo import DEMO_PASSWORD, seed_demo
from tests.e2e.conftest import log_in, screenshot
from tests.reports.dashboards.conftest import dashboards_mounted  # noqa: F401  (mounts the dashboards)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_sorts_the_scorecard_and_drills_into_evidence(page):
    seed_demo()
    log_in(page, "manager@demo.example", DEMO_PASSWORD)
    page.goto("/t/demo/scorecard/")
    table = page.locator("table.scorecard")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(12)
    screenshot(page, "scorecard-desktop")

    # Sort by overall score, highest first (two clicks: ascending, then descending).
    page.get_by_role("link", name=re.compile(r"^Overall")).click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Overall")
    page.get_by_role("link", name=re.compile(r"^Overall")).click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Overall")
    page.wait_for_load_state()  # the header arrives before the rows: read them all
    scores = [text.strip() for text in table.locator("tbody td.overall .score").all_inner_texts()]
    numbers = [float(s) for s in scores if s not in ("–", "")]
    assert numbers == sorted(numbers, reverse=True) and len(numbers) >= 6
    assert page.console_errors == []

    # Drill into the top rep, then open their latest session's evidence.
    top = table.locator("tbody tr th.rep a").first
    name = top.text_content().strip()
    top.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator("svg.line-chart").first).to_be_visible()
    screenshot(page, "rep-detail-desktop")
    page.locator("table.sessions tbody tr th a").first.click()
    evidence = page.locator("#scores a[href^='#turn-']").first
    expect(evidence).to_be_visible()
    screenshot(page, "session-evidence-from-scorecard")
    assert page.console_errors == []

    # Phone width: the scorecard scrolls sideways inside its card, names stay readable.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/t/demo/scorecard/?sort=-overall")
    expect(table).to_be_visible()
    screenshot(page, "scorecard-phone")
    page.goto("/t/demo/insights/")
    expect(page.get_by_role("heading", name="Behaviors × KPIs")).to_be_visible()
    screenshot(page, "insights-phone")
    page.set_viewport_size({"width": 1200, "height": 850})
    page.goto("/t/demo/insights/")
    screenshot(page, "insights-desktop")
    assert page.console_errors == []


def test_rep_sees_their_own_progress(page):
    seed_demo()
    log_in(page, "rep@demo.example", DEMO_PASSWORD)
    page.goto("/t/demo/progress/")
    expect(page.get_by_role("heading", name="My progress")).to_be_visible()
    expect(page.locator("svg.line-chart").first).to_be_visible()
    screenshot(page, "my-progress-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    screenshot(page, "my-progress-phone")
    assert page.console_errors == []
