"""Member CSV upload: per-row errors, nothing created when any row is bad, all created when clean."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Invitation, Membership

pytestmark = pytest.mark.django_db

BAD_CSV = (
    "email,name,role,team\n"
    "ok.person@acme.example,Ok Person,rep,Acme Support Team\n"  # line 2: fine
    "someone@acme.example,Some One,wizard,Acme Support Team\n"  # line 3: unknown role
    "ok.person@acme.example,Ok Again,rep,Acme Support Team\n"  # line 4: duplicate email
    "not-an-address,Bad Mail,rep,Acme Support Team\n"  # line 5: malformed address
    "noteam@acme.example,No Team,rep,Night Shift\n"  # line 6: missing team
)


def _upload(client, content: str, *, confirm: bool = False, name="members.csv"):
    data = {"file": SimpleUploadedFile(name, content.encode("utf-8"), content_type="text/csv")}
    if confirm:
        data["confirm"] = "1"
    return client.post("/t/acme/people/import/", data)


def _counts(world):
    with tenant_context(world.tenant):
        return Invitation.objects.count(), Membership.objects.count()


def test_bad_rows_are_listed_and_nothing_is_created(world_a, client_for):
    admin = client_for(world_a.member("tenant_admin"))
    before = _counts(world_a)
    response = _upload(admin, BAD_CSV, confirm=True)
    assert response.status_code == 400
    rows = {row.line: row.errors for row in response.context["preview"].rows}
    assert rows[2] == []
    assert any("unknown role “wizard”" in e for e in rows[3])
    assert any("appears twice (also on line 2)" in e for e in rows[4])
    assert any("not a valid email address" in e for e in rows[5])
    assert any("no team named “Night Shift”" in e for e in rows[6])
    assert b"Nothing has been sent" in response.content
    assert _counts(world_a) == before


def test_clean_file_previews_then_invites_everyone(world_a, client_for, mailoutbox, django_capture_on_commit_callbacks):
    admin = client_for(world_a.member("tenant_admin"))
    clean = "\ufeffemail;name;role;team\nA.One@acme.example;A One;rep;Acme Support Team\nlead2@acme.example;Lead Two;enablement lead;\n"
    preview = _upload(admin, clean)
    assert preview.status_code == 200 and preview.context["preview"].ok
    assert _counts(world_a)[0] == 0
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(admin, clean, confirm=True)
    assert response.status_code == 302
    with tenant_context(world_a.tenant):
        assert sorted(Invitation.objects.values_list("email", "role")) == [
            ("a.one@acme.example", "rep"),
            ("lead2@acme.example", "enablement_lead"),
        ]
    assert sorted(m.to[0] for m in mailoutbox) == ["a.one@acme.example", "lead2@acme.example"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("name,team\nx,y\n", "Missing column(s): email, role"),
        ("email,name,role,team\n", "no member rows"),
    ],
)
def test_file_level_problems(world_a, client_for, content, message):
    response = _upload(client_for(world_a.member("tenant_admin")), content, confirm=True)
    assert response.status_code == 400 and message in response.content.decode()


def test_non_utf8_file_is_refused_plainly(world_a, client_for):
    admin = client_for(world_a.member("tenant_admin"))
    data = {"file": SimpleUploadedFile("m.csv", "email,role\nzoë@acme.example,rep\n".encode("latin-1")), "confirm": "1"}
    response = admin.post("/t/acme/people/import/", data)
    assert response.status_code == 400 and "not UTF-8" in response.content.decode()
    assert _counts(world_a)[0] == 0


def test_api_import_dry_run_and_commit(world_a, client_for):
    admin = client_for(world_a.member("tenant_admin"))
    url = "/api/v1/t/acme/members/import/"
    bad = admin.post(url, {"file": SimpleUploadedFile("m.csv", BAD_CSV.encode()), "dry_run": "false"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_csv"
    assert "line 3" in bad.json()["error"]["fields"]
    assert _counts(world_a)[0] == 0
    good = "email,name,role,team\nx1@acme.example,X One,rep,Acme Support Team\n"
    dry = admin.post(url, {"file": SimpleUploadedFile("m.csv", good.encode()), "dry_run": "true"})
    assert dry.status_code == 200 and dry.json()["created"] == 0 and _counts(world_a)[0] == 0
    done = admin.post(url, {"file": SimpleUploadedFile("m.csv", good.encode()), "dry_run": "false"})
    assert done.status_code == 200 and done.json()["created"] == 1 and _counts(world_a)[0] == 1
