"""Names and Role Provisioning Services: a launch records its course and roster URL; the admin syncs
the course's learners into the tenant from the LMS (the `lti1p3platform` loopback platform serving a
paged membership container for a token with the NRPS scope). Learners matched by email or added as
reps, instructors never promoted, nobody removed, another tenant's course out of reach."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.models import AuditEvent, Membership, Role
from programs import lti
from programs.models import LTICourse
from tests.programs.lms import COURSE
from tests.programs.test_grade_passback import launched_session, lms  # noqa: F401  (the fixture)
from tests.support.lti_platform import INSTRUCTOR, LEARNER

pytestmark = pytest.mark.django_db(transaction=True)

STUDENT = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"


def test_the_admin_syncs_a_course_roster_into_the_tenant(world_a, world_b, lms, client, client_for):  # noqa: F811
    launched_session(world_a, lms, client)  # Noor launches: the course and its roster URL are recorded
    course = LTICourse.objects.for_tenant(world_a.tenant).get()
    assert (course.context_id, course.title) == (COURSE, "Onboarding 101")
    assert course.memberships_url.endswith(f"/memberships/{COURSE}")

    lms.roster.update({
        "s-1": {"name": "Ada Learner", "email": "ada@acme.example", "roles": [LEARNER]},
        "s-2": {"name": "Ben Student", "email": "Ben@Acme.example", "roles": [STUDENT]},
        "s-3": {"name": "No Mail", "email": "", "roles": [LEARNER]},
        "t-1": {"name": "Tess Teacher", "email": "tess@acme.example", "roles": [INSTRUCTOR]},
        "m-1": {"name": "The manager", "email": world_a.member(Role.MANAGER).user.email, "roles": [LEARNER]},
        "x-1": {"name": "Gone", "email": "gone@acme.example", "roles": [LEARNER], "status": "Deleted"},
    })
    admin = client_for(world_a.member(Role.TENANT_ADMIN))
    page = admin.get(reverse("lti_settings", args=[world_a.tenant.slug]))
    assert b"Onboarding 101" in page.content and b"Sync members" in page.content
    url = reverse("lti_course_sync", args=[world_a.tenant.slug, course.id])
    synced = admin.post(url, follow=True)
    assert synced.status_code == 200
    assert "Roster of “Onboarding 101” synced: 2 added as reps, 2 already members, 1 not learners" in \
        synced.content.decode()
    assert lms.nrps_requests >= 4  # seven members, two a page: every page was read

    members = {m.user.email: m for m in Membership.objects.for_tenant(world_a.tenant).select_related("user")}
    assert members["ada@acme.example"].role == Role.REP and members["ben@acme.example"].role == Role.REP
    assert members[world_a.member(Role.MANAGER).user.email].role == Role.MANAGER  # matched, never demoted
    assert "tess@acme.example" not in members and "gone@acme.example" not in members
    assert not Membership.objects.for_tenant(world_b.tenant).filter(user__email="ada@acme.example").exists()
    course.refresh_from_db()
    assert course.last_sync == {"matched": 2, "added": 2, "skipped_no_email": 1, "skipped_not_learner": 1,
                                "inactive": 1}
    assert AuditEvent.objects.for_tenant(world_a.tenant).filter(action="lti.roster_synced").count() == 1

    # Again: everyone is already there.
    again = lti.course_members_sync(tenant=world_a.tenant, actor=world_a.member(Role.TENANT_ADMIN), course=course)
    assert (again.added, again.matched) == (0, 4)

    # Only the admin, and only for their own tenant's courses.
    assert client_for(world_a.member(Role.MANAGER)).post(url).status_code == 403
    other_admin = client_for(world_b.member(Role.TENANT_ADMIN))
    assert other_admin.post(reverse("lti_course_sync", args=[world_b.tenant.slug, course.id])).status_code == 404


def test_a_course_without_a_roster_or_an_lms_that_refuses_says_why(world_a, lms, client):  # noqa: F811
    launched_session(world_a, lms, client)
    course = LTICourse.objects.for_tenant(world_a.tenant).get()
    admin = world_a.member(Role.TENANT_ADMIN)
    lms.stop()  # the LMS is gone
    with pytest.raises(ApplicationError) as failed:
        lti.course_members_sync(tenant=world_a.tenant, actor=admin, course=course)
    assert failed.value.code == "nrps_failed" and "roster" in failed.value.message
    course.refresh_from_db()
    assert course.last_error and course.last_synced_at is None
    LTICourse.objects.for_tenant(world_a.tenant).filter(id=course.id).update(memberships_url="")
    course.refresh_from_db()
    with pytest.raises(ApplicationError) as unavailable:
        lti.course_members_sync(tenant=world_a.tenant, actor=admin, course=course)
    assert "Names and Role Provisioning Services" in unavailable.value.message
