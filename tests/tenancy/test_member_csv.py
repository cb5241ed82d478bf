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


def _upload_id(response) -> str:
    import re

    return re.search(rb'name="upload" value="([^"]+)"', response.content).group(1).decode()


CLEAN_CSV = "email,name,role,team\nnew.one@acme.example,New One,rep,Acme Support Team\nnew.two@acme.example,New Two,enablement lead,\n"


def test_confirming_a_preview_sends_the_previewed_file_without_choosing_it_again(world_a, client_for):
    admin = client_for(world_a.member("tenant_admin"))
    before = _counts(world_a)
    preview = _upload(admin, CLEAN_CSV)
    assert preview.status_code == 200 and b"Send 2 invitations" in preview.content
    assert b"Choose the same file again" not in preview.content and _counts(world_a) == before
    response = admin.post("/t/acme/people/import/", {"upload": _upload_id(preview), "confirm": "1"}, follow=True)
    assert b"2 invitation(s) sent." in response.content
    with tenant_context(world_a.tenant):
        assert set(Invitation.objects.values_list("email", flat=True)) >= {"new.one@acme.example", "new.two@acme.example"}
    # Confirming twice sends nothing more: the kept file is gone once sent.
    again = admin.post("/t/acme/people/import/", {"upload": _upload_id(preview), "confirm": "1"}, follow=True)
    assert b"expired" in again.content and _counts(world_a)[0] == before[0] + 2


def test_a_kept_upload_is_confirmable_only_by_its_admin_in_its_tenant(world_a, world_b, client_for):
    from tests.factories import MembershipFactory, UserFactory

    preview = _upload(client_for(world_a.member("tenant_admin")), CLEAN_CSV)
    upload = _upload_id(preview)
    before_a, before_b = _counts(world_a), _counts(world_b)
    other_admin_a = MembershipFactory(tenant=world_a.tenant, role="tenant_admin", user=UserFactory(email="admin2@acme.example"))
    for client, slug in ((client_for(other_admin_a), "acme"), (client_for(world_b.member("tenant_admin")), "bolt")):
        response = client.post(f"/t/{slug}/people/import/", {"upload": upload, "confirm": "1"}, follow=True)
        assert b"expired" in response.content
    assert _counts(world_a) == (before_a[0], before_a[1] + 1) and _counts(world_b) == before_b
