"""In a real browser: a manager uploads a Zendesk ticket export, maps the one agent CoachHub doesn't
know, previews the weekly values, commits, and sees the numbers with their definitions on the
scorecard."""

from datetime import datetime, time, timedelta

import pytest

from tests.e2e.conftest import log_in, screenshot
from tests.factories import PASSWORD
from tests.reports.factories import last_monday

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.reports.urlconf")]


def test_manager_imports_a_zendesk_export_mapping_one_agent(page, world_a, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    rep, rep2 = world_a.member("rep"), world_a.rep2
    week = last_monday()

    def solved(day: int) -> str:
        return datetime.combine(week + timedelta(days=day), time(10)).strftime("%Y-%m-%d %H:%M:%S")

    path = tmp_path / "zendesk-export.csv"
    path.write_text("\n".join([
        "Id,Subject,Assignee,Group,Created at,Solved at,Satisfaction Score,Group stations,Assignee stations,"
        "Reopens,Replies,First reply time in minutes,Full resolution time in minutes",
        f"1,Refund,Riley Rep,Tier 1,{solved(0)},{solved(0)},Good,1,1,0,1,10,60",
        f"2,Broken,Riley Rep,Tier 1,{solved(1)},{solved(1)},Bad,2,2,0,3,10,60",
        f"3,Login,Riley Rep,Tier 1,{solved(2)},{solved(2)},Good,1,1,0,1,10,60",
        f"4,Ship,Riley Rep,Tier 1,{solved(3)},{solved(3)},Good,1,1,0,1,10,60",
        f"5,Where,{rep2.user.email},Tier 1,{solved(3)},{solved(3)},Good,1,1,0,1,10,60",
    ]) + "\n", encoding="utf-8")

    log_in(page, world_a.member("manager").user.email, PASSWORD)
    page.goto(f"/t/{world_a.tenant.slug}/kpis/import/")
    page.get_by_label("KPI file (CSV)").set_input_files(str(path))
    page.get_by_label("Source").fill("Zendesk")
    page.get_by_role("button", name="Check the file").click()
    agents = page.locator(".kpi-agents")
    agents.wait_for()
    # A click returns once the next page has started to arrive: read it once it is all there.
    page.wait_for_load_state()
    assert "Read as a Zendesk ticket export" in page.content()
    assert "1 agent no member is known for" in agents.inner_text()
    assert "Riley Rep" in agents.inner_text() and "4" in agents.inner_text()
    screenshot(page, "helpdesk-unknown-agent")

    page.get_by_label("Member for Riley Rep").select_option(value=str(rep.id))
    page.get_by_role("button", name="Save agents and check again").click()
    page.get_by_role("button", name="Commit the import").wait_for()
    page.wait_for_load_state()  # the preview comes after the button in the page
    preview = page.locator("section", has=page.get_by_role("heading", name="Preview: the first weeks per rep"))
    text = preview.inner_text()
    assert "Riley Rep" in text and "Escalation rate" in text and "25" in text  # 1 of 4 tickets escalated
    assert "Good / (Good + Bad)" in page.locator(".kpi-definitions").inner_text()
    screenshot(page, "helpdesk-preview")

    page.get_by_role("button", name="Commit the import").click()
    page.get_by_text("Imported: 6 new").wait_for()

    page.goto(f"/t/{world_a.tenant.slug}/scorecard/?week={week.isoformat()}")
    row = page.locator("tr", has_text=rep.user.display_name).first
    row.wait_for()
    assert "25%" in row.inner_text() and "75%" in row.inner_text(), row.inner_text()  # escalation, CSAT 3/(3+1)
    definitions = page.locator(".kpi-definitions").inner_text()
    assert "escalation = share of solved tickets with Group stations > 1" in definitions
    assert "CSAT = Good / (Good + Bad)" in definitions
    screenshot(page, "helpdesk-scorecard-definitions")
    assert not page.console_errors, page.console_errors
