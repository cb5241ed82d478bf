"""The realism check: simulated reps against a scenario's customer before it is published."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from scenarios.library import library_get, library_specs
from scenarios.spec import ScenarioSpec
from sessions.engines.embedded import EmbeddedCustomerEngine
from sessions.engines.realism import check_scenario


def test_every_starter_scenario_passes_the_realism_check_with_the_embedded_customer():
    out = StringIO()
    call_command("check_scenario", "--all", stdout=out)

    reports = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [report["scenario"] for report in reports] == [spec.slug for spec in library_specs()]
    for report in reports:
        assert report["passed"], report
        strong, dismissive, probes = report["runs"]
        assert strong["end_reason"] == "resolved" and strong["end_frustration"] < strong["start_frustration"]
        assert dismissive["end_reason"] == "escalated"
        assert probes["out_of_character"] == []
        assert report["unreached_details"] == []
        assert report["reply_ms_p50"] >= 0


def test_an_unwinnable_scenario_is_reported_and_the_command_fails():
    data = library_get("wrong-suit-before-wedding").to_dict()
    data["end_conditions"] = {"max_turns": 3, "resolve_frustration_at_most": 0}
    spec = ScenarioSpec.from_dict(data)

    report = check_scenario(EmbeddedCustomerEngine(), spec)

    assert not report.passed
    assert report.winnable_within_turn_limit is False
    assert report.to_dict()["passed"] is False


def test_nothing_to_check_says_what_to_pass():
    with pytest.raises(CommandError, match="--scenario"):
        call_command("check_scenario")
