"""Matrix classification of the program pages, and the objects they point at."""

from __future__ import annotations

from programs import services
from tests.matrix import (
    ADMIN,
    LEAD,
    MANAGER,
    PUBLIC,
    REP,
    TENANT_API,
    TENANT_PAGE,
    Route,
    _obj,
    everyone,
    only,
)
from tests.sessions.helpers import publish_library_scenario

AUTHORS = {LEAD, ADMIN}
ASSIGNERS = {MANAGER, LEAD, ADMIN}
REVIEWERS = {MANAGER, LEAD, ADMIN}


def seed(world) -> None:
    """A program with one step assigned to the world's team, and a scratch program whose step and
    archive the routes may remove."""
    tenant, lead = world.tenant, world.member(LEAD)
    version = publish_library_scenario(tenant, "cafe-internet-outage")
    program = services.program_create(tenant=tenant, actor=lead, title=f"Onboarding of {tenant.name}")
    step = services.program_step_add(tenant=tenant, actor=lead, program=program, scenario=version.scenario, pass_overall=60)
    services.program_assign(tenant=tenant, actor=lead, program=program, teams=[world.team])
    scratch = services.program_create(tenant=tenant, actor=lead, title=f"Scratch of {tenant.name}")
    scratch_step = services.program_step_add(
        tenant=tenant, actor=lead, program=scratch, scenario=version.scenario, pass_overall=60
    )
    from programs import lti

    world.extra["lti_key"] = lti.tool_key_rotate(tenant=tenant)
    from programs.models import LTICourse, LTIPlatform

    platform = LTIPlatform.objects.for_tenant(tenant).create(
        tenant=tenant, name="LMS", issuer=f"https://lms.{tenant.slug}.example", client_id="tool",
        deployment_ids=["1"], auth_login_url="https://lms.example/auth", auth_token_url="https://lms.example/token",
        key_set_url="https://lms.example/jwks")
    # No roster URL: a sync is refused in words (and redirects back), never calling out.
    world.extra["lti_course"] = LTICourse.objects.for_tenant(tenant).create(
        tenant=tenant, platform=platform, context_id="course-1", title="Onboarding 101")
    world.extra.update(program=program, program_step=step, scratch_program=scratch, scratch_step=scratch_step,
                       program_scenario=version.scenario)


def _program(w) -> dict:
    return {"program_id": w.extra["program"].id}


def _rep(w) -> dict:
    return {"program_id": w.extra["program"].id, "rep_id": w.member(REP).id}


ROUTES: dict[str, Route] = {
    "program_list": Route(TENANT_PAGE, only(REVIEWERS)),
    "program_create": Route(TENANT_PAGE, only(AUTHORS)),
    "readiness_overview": Route(TENANT_PAGE, only(REVIEWERS)),
    "my_programs": Route(TENANT_PAGE, everyone(200)),
    "program_detail": Route(TENANT_PAGE, only(REVIEWERS), **_obj(_program)),
    "program_edit": Route(TENANT_PAGE, only(AUTHORS), **_obj(_program)),
    "program_assign": Route(TENANT_PAGE, only(ASSIGNERS), **_obj(_program)),
    "program_readiness": Route(TENANT_PAGE, only(REVIEWERS), **_obj(_rep)),
    # The scenario is already in the program: authors get the page back with the error.
    "program_step_add": Route(
        TENANT_PAGE, only(AUTHORS, 400), method="POST", **_obj(_program),
        data=lambda w: {"scenario": w.extra["program_scenario"].id, "pass_overall": 70},
    ),
    # The lead removes the scratch step; the admin then finds it gone.
    "program_step_remove": Route(
        TENANT_PAGE, {REP: 403, MANAGER: 403, LEAD: 302, ADMIN: 404}, method="POST",
        **_obj(lambda w: {"program_id": w.extra["scratch_program"].id, "step_id": w.extra["scratch_step"].id}),
    ),
    "program_archive": Route(
        TENANT_PAGE, only(AUTHORS, 302), method="POST",
        **_obj(lambda w: {"program_id": w.extra["scratch_program"].id}),
    ),
    "lrs_settings": Route(TENANT_PAGE, only({ADMIN})),
    "lti_settings": Route(TENANT_PAGE, only({ADMIN})),
    "lti_key_rotate": Route(TENANT_PAGE, only({ADMIN}, 302), method="POST"),
    # The seeded key was made for this route; after the admin rotates (above) two keys are live.
    "lti_key_retire": Route(TENANT_PAGE, only({ADMIN}, 302), method="POST",
                            **_obj(lambda w: {"key_id": w.extra["lti_key"].id})),
    # Without the LMS's launch parameters: refused in words, for every role.
    "cmi5_launch": Route(TENANT_PAGE, everyone(400)),
    "lti_course_sync": Route(TENANT_PAGE, only({ADMIN}, 302), method="POST",
                             **_obj(lambda w: {"course_id": w.extra["lti_course"].id})),
    # --- LTI: called by the LMS without a login; each world registers an LMS (see seed), so a launch
    # or content selection without a signed token is refused as unverifiable (400) ------------------
    "lti_login": Route(PUBLIC, anon=400, kwargs=lambda w: {"lti_tenant": w.tenant.slug}),
    "lti_launch": Route(PUBLIC, anon=400, method="POST", kwargs=lambda w: {"lti_tenant": w.tenant.slug}),
    "lti_deep_link": Route(PUBLIC, anon=400, method="POST", kwargs=lambda w: {"lti_tenant": w.tenant.slug}),
    "lti_jwks": Route(PUBLIC, anon=200, kwargs=lambda w: {"lti_tenant": w.tenant.slug}),
    # --- API -----------------------------------------------------------------------------------
    "api-program-list": Route(TENANT_API, only(REVIEWERS)),
    "api-program-detail": Route(TENANT_API, only(REVIEWERS), **_obj(lambda w: {"pk": w.extra["program"].id})),
    "api-program-readiness": Route(TENANT_API, only(REVIEWERS), **_obj(lambda w: {"pk": w.extra["program"].id})),
    "api-my-readiness-list": Route(TENANT_API, everyone(200)),
    # Nobody has practised yet, so confirming "ready for live" is refused as not ready.
    "program_live_decision": Route(
        TENANT_PAGE, only(REVIEWERS, 409), method="POST", **_obj(_rep),
        data=lambda w: {"decision": "confirmed", "reason": "Watched them on a shadow shift."},
    ),
}
