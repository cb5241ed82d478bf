"""`run_roleplay --tenant`: plays a tenant's published scenario through the session services."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from coachhub.tenancy.context import tenant_context
from sessions.models import PracticeSession
from tests.sessions.helpers import publish_library_scenario
from tests.sessions.scripts import SUPPORTIVE_SCRIPTS

pytestmark = pytest.mark.django_db


def test_tenant_run_is_stored_and_prints_json_lines(world_a, tmp_path):
    publish_library_scenario(world_a.tenant, "meal-kit-cancellation")
    script = tmp_path / "rep.txt"
    script.write_text("\n".join(SUPPORTIVE_SCRIPTS["meal-kit-cancellation"]))
    out = StringIO()
    call_command(
        "run_roleplay",
        "--scenario",
        "meal-kit-cancellation",
        "--engine",
        "embedded",
        "--tenant",
        "acme",
        "--seed",
        "3",
        "--rep",
        world_a.member("rep").user.email,
        "--rep-script",
        str(script),
        stdout=out,
    )
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["turn"] == 0 and lines[0]["speaker"] == "customer" and "frustration" in lines[0]
    assert lines[-1] == {"end_reason": "resolved"}
    assert all(
        set(line) == {"turn", "speaker", "text"} for line in lines[:-1] if line.get("speaker") == "rep"
    )
    with tenant_context(world_a.tenant):
        session = PracticeSession.objects.get()
        assert session.membership == world_a.member("rep") and session.end_reason == "resolved"


def test_tenant_run_explains_unknown_things(world_a):
    with pytest.raises(CommandError, match="No tenant with slug 'nope'"):
        call_command("run_roleplay", "--scenario", "x", "--tenant", "nope", "--rep-script", "/dev/null")
    with pytest.raises(CommandError, match="no published scenario with slug 'x'"):
        call_command("run_roleplay", "--scenario", "x", "--tenant", "acme", "--rep-script", "/dev/null")
