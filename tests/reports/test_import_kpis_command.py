"""`manage.py import_kpis`: a JSON summary on stdout, and a non-zero exit listing line-numbered errors."""

import json

import pytest
from django.core.management import CommandError, call_command

from tests.reports.factories import csv_bytes, last_monday, values_of

pytestmark = pytest.mark.django_db

WEEK = last_monday().isoformat()


def _file(tmp_path, lines):
    path = tmp_path / "kpis.csv"
    path.write_bytes(csv_bytes(lines))
    return path


def test_prints_a_json_summary_and_imports(world_a, tmp_path, capsys):
    rep = world_a.member("rep").user.email
    path = _file(tmp_path, ["rep_email,period_start,metric,value", f"{rep},{WEEK},csat,91%",
                            f"{world_a.loner.user.email},{WEEK},nps,35"])
    call_command("import_kpis", "--tenant", "acme", str(path), "--dry-run")
    summary = json.loads(capsys.readouterr().out)
    assert summary == {
        "tenant": "acme", "file": str(path), "source": "Help desk export", "rows": 2, "created": 2, "updated": 0,
        "unchanged": 0, "dry_run": True, "ok": True, "error_count": 0, "errors": [],
    }
    assert values_of(world_a) == {}
    call_command("import_kpis", "--tenant", "acme", str(path), "--source", "Nightly feed")
    summary = json.loads(capsys.readouterr().out)
    assert (summary["created"], summary["dry_run"], summary["source"]) == (2, False, "Nightly feed")
    call_command("import_kpis", "--tenant", "acme", str(path))
    assert json.loads(capsys.readouterr().out)["unchanged"] == 2
    assert len(values_of(world_a)) == 2


def test_bad_rows_exit_non_zero_with_line_numbers_and_change_nothing(world_a, tmp_path, capsys):
    rep = world_a.member("rep").user.email
    path = _file(tmp_path, ["rep_email,period_start,metric,value", f"{rep},{WEEK},csat,91%",
                            f"ghost@acme.example,{WEEK},csat,80", f"{rep},not-a-date,nps,10"])
    with pytest.raises(CommandError) as failed:
        call_command("import_kpis", "--tenant", "acme", str(path))
    assert failed.value.returncode == 1
    message = str(failed.value)
    assert "line 3, column rep_email: unknown rep “ghost@acme.example”" in message
    assert "line 4, column period_start: “not-a-date” is not a date" in message
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"] is False and [e["line"] for e in summary["errors"]] == [3, 4]
    assert values_of(world_a) == {}

