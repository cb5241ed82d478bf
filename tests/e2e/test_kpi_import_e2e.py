"""In a real browser: a manager uploads a KPI file with bad rows, reads the row errors, uploads the
fixed file, commits it and sees the new KPIs — at desktop and phone width."""

import re

import pytest

from tests.e2e.conftest import log_in, screenshot
from tests.factories import PASSWORD
from tests.reports.factories import last_monday

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.reports.urlconf")]


def _write(tmp_path, name: str, lines: list[str]):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_manager_fixes_a_bad_kpi_file_and_commits_it(page, world_a, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    rep, rep2 = world_a.member("rep").user.email, world_a.rep2.user.email
    week = last_monday().strftime("%d/%m/%Y")
    header = "agent_email;week;CSAT;AHT;Escalation %"
    bad = _write(tmp_path, "week-bad.csv", [
        header, f"{rep};{week};91%;6:05;8,5", f"{rep2};{week};great;7:10;150", f"someone@else.example;{week};80%;5:00;3",
    ])
    fixed = _write(tmp_path, "week-fixed.csv", [header, f"{rep};{week};91%;6:05;8,5", f"{rep2};{week};4.2;7:10;15"])

    log_in(page, world_a.member("manager").user.email, PASSWORD)
    page.goto(f"/t/{world_a.tenant.slug}/kpis/import/")
    page.get_by_label("KPI file (CSV)").set_input_files(bad)
    page.get_by_label("Source").fill("Zendesk export")
    page.get_by_role("button", name="Check the file").click()
    errors = page.locator(".kpi-errors")
    errors.wait_for()
    # A click returns once the next page has started to arrive: count its rows once it is all there.
    page.wait_for_load_state()
    assert "3 problems to fix" in errors.inner_text()
    rows = errors.locator("tbody tr")
    assert rows.count() == 3
    assert rows.nth(0).inner_text().split("\t")[:2] == ["3", "CSAT"]
    assert "“great” is not a number" in rows.nth(0).inner_text()
    assert "Escalation rate must be between 0 and 100 (got 150)" in rows.nth(1).inner_text()
    assert "unknown rep “someone@else.example”: no rep in your teams has it" in rows.nth(2).inner_text()
    assert page.get_by_role("button", name="Commit the import").count() == 0
    screenshot(page, "kpi-import-errors")

    page.get_by_role("link", name="Upload a fixed file").click()
    page.get_by_label("KPI file (CSV)").set_input_files(fixed)
    page.get_by_label("Source").fill("Zendesk export")
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Commit the import").wait_for()
    page.wait_for_load_state()
    assert "Ready to import" in page.locator(".kpi-head").inner_text()
    assert page.locator(".stat-new strong").inner_text() == "6"
    screenshot(page, "kpi-import-preview")

    page.get_by_role("button", name="Commit the import").click()
    page.get_by_text("Imported: 6 new").wait_for()
    page.get_by_role("link", name="See the latest KPIs").click()
    table = page.locator("table.kpi-table")
    table.wait_for()
    page.wait_for_load_state()
    text = table.inner_text()
    assert rep in text and rep2 in text and "91%" in text and "80%" in text and "6:05" in text and "8.5%" in text
    screenshot(page, "kpi-home")

    # The committed KPIs sit next to that week's behavior scores on the manager's scorecard.
    page.goto(f"/t/{world_a.tenant.slug}/scorecard/?week={last_monday().isoformat()}")
    row = page.locator("tr", has_text=rep).first
    row.wait_for()
    assert re.search(r"\b91(\.0)?%?", row.inner_text()), row.inner_text()
    screenshot(page, "scorecard-after-kpi-import")

    page.goto(f"/t/{world_a.tenant.slug}/kpis/")
    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    page.locator("table.kpi-table").wait_for()
    screenshot(page, "kpi-home-phone")
    page.go_back()
    page.goto(f"/t/{world_a.tenant.slug}/kpis/import/")
    screenshot(page, "kpi-import-phone")
    assert not page.console_errors, page.console_errors
