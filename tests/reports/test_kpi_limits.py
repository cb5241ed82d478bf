"""Per-user limit on KPI uploads, on the upload page and the API: a refused upload says why in plain
words (429, the one error shape on the API) and leaves nothing behind, no source and no import."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from coachhub.core.limits import KPI_UPLOAD_LIMITED
from coachhub.tenancy.context import tenant_context
from reports.models import KpiImport, KpiSource
from tests.reports.factories import csv_bytes, last_monday, upload, values_of

pytestmark = pytest.mark.django_db

LIMIT = 2
WEEK = last_monday()


@pytest.fixture(autouse=True)
def tight_upload_limit(settings):
    cache.clear()  # the counters live in the (per-process) cache; ids can repeat between tests
    settings.USER_RATE_LIMITS = {**settings.USER_RATE_LIMITS, "kpi_upload": f"{LIMIT}/m"}


def kpi_file(world) -> bytes:
    return csv_bytes(["rep_email,period_start,metric,value", f"{world.member('rep').user.email},{WEEK},csat,91%"])


def until_refused(send) -> tuple[int, object]:
    """Sends uploads until one is refused: (how many got through, the refusal). The window is a
    clock minute, so a boundary falling between two uploads can reset the count once: at most
    2 × LIMIT get through, never more."""
    for sent in range(2 * LIMIT + 1):
        response = send(sent)
        if response.status_code == 429:
            return sent, response
        assert response.status_code in (200, 302), response.content[:500]
    pytest.fail(f"{2 * LIMIT + 1} uploads in a row were all accepted with a limit of {LIMIT}/m")


def imports_and_sources(world) -> tuple[list[int], set[str]]:
    with tenant_context(world.tenant):
        return (
            list(KpiImport.objects.for_tenant(world.tenant).values_list("id", flat=True)),
            set(KpiSource.objects.for_tenant(world.tenant).values_list("name", flat=True)),
        )


def test_the_upload_page_refuses_past_the_limit_with_a_message_and_writes_nothing(world_a, client_for):
    slug = world_a.tenant.slug
    manager = client_for(world_a.member("manager"))

    accepted, refused = until_refused(
        lambda n: manager.post(reverse("kpi_import", args=[slug]), {"file": upload(kpi_file(world_a)), "source": f"Feed {n}"})
    )

    assert LIMIT <= accepted <= 2 * LIMIT
    page = refused.content.decode()
    assert KPI_UPLOAD_LIMITED in page, "the form says why the file was not taken"
    imports, sources = imports_and_sources(world_a)
    assert len(imports) == accepted, "the refused upload left an import behind"
    assert sources == {f"Feed {n}" for n in range(accepted)}, "the refused upload created its source"
    assert values_of(world_a) == {}

    # The manager can still read the imports that went through.
    assert manager.get(reverse("kpi_import_detail", args=[slug, imports[0]])).status_code == 200


def test_the_api_refuses_past_the_limit_in_the_one_error_shape_and_writes_nothing(world_a, client_for):
    base = f"/api/v1/t/{world_a.tenant.slug}"
    lead = client_for(world_a.member("enablement_lead"))

    accepted, refused = until_refused(
        lambda n: lead.post(f"{base}/kpi-imports/", {"file": upload(kpi_file(world_a)), "source": f"API feed {n}"})
    )

    assert LIMIT <= accepted <= 2 * LIMIT
    assert refused.json() == {"error": {"code": "rate_limited", "message": KPI_UPLOAD_LIMITED, "fields": {}}}
    imports, sources = imports_and_sources(world_a)
    assert len(imports) == accepted
    assert sources == {f"API feed {n}" for n in range(accepted)}
    # What went through is intact and still listed.
    listed = lead.get(f"{base}/kpi-imports/").json()
    assert sorted(row["id"] for row in listed["results"]) == sorted(imports)
    assert all(row["status"] == "previewed" and row["ok"] for row in listed["results"])


def test_the_page_and_the_api_share_one_allowance_per_user_and_others_keep_theirs(world_a, client_for):
    slug = world_a.tenant.slug
    manager = client_for(world_a.member("manager"))
    accepted, _ = until_refused(
        lambda n: manager.post(reverse("kpi_import", args=[slug]), {"file": upload(kpi_file(world_a)), "source": "Page"})
    )

    by_api = manager.post(f"/api/v1/t/{slug}/kpi-imports/", {"file": upload(kpi_file(world_a)), "source": "Page"})
    if by_api.status_code != 429:  # the minute turned between the two calls: this one opened a new window
        assert by_api.status_code == 200
        accepted += 1
    else:
        assert by_api.json()["error"]["code"] == "rate_limited"

    admin = client_for(world_a.member("tenant_admin"))
    other = admin.post(f"/api/v1/t/{slug}/kpi-imports/", {"file": upload(kpi_file(world_a)), "source": "Page"})
    assert other.status_code == 200, "one user's uploads used up another's allowance"
    imports, sources = imports_and_sources(world_a)
    assert len(imports) == accepted + 1 and sources == {"Page"}
