"""Helpers for program tests: two published scenarios and sessions scored by the real scorer."""

from __future__ import annotations

from tests.scoring.factories import DISMISSIVE_LINES, SUPPORTIVE_LINES, ScenarioVersionFactory, scored_session

# The embedded scorer gives the suit scenario's supportive lines 60-61 overall (empathy 60) and the
# dismissive ones 24 (empathy 15): a pass mark of 50 tells them apart, and two good sessions after
# a bad one bring the recency-weighted standing (about 55) back above it.
PASS_MARK = 50


def two_scenarios(tenant):
    first = ScenarioVersionFactory(tenant=tenant, scenario__tenant=tenant, scenario__title="Refund refusal")
    second = ScenarioVersionFactory(tenant=tenant, scenario__tenant=tenant, scenario__title="Angry complaint")
    return first, second


def passing_session(rep, version):
    return scored_session(rep, SUPPORTIVE_LINES, version=version)


def failing_session(rep, version):
    return scored_session(rep, DISMISSIVE_LINES, version=version)
