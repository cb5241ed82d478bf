"""Authoring: create scenarios, save drafts, publish, archive, duplicate, and lock versions once used.

A version's content changes only while it is an unused draft. Status moves (publish, archive) never
touch content, so they are allowed on used versions too. A version also carries the latest realism
check of its content (run by the role-play runner, stored here); changing the content clears it,
and a tenant may require a passing one before publishing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from coachhub.core.errors import ApplicationError, Conflict
from coachhub.tenancy.models import Tenant, User
from coachhub.tenancy.selectors import ai_settings_get
from coachhub.tenancy.services import audit_record

from ..models import Assignment, RealismStatus, Scenario, ScenarioVersion, VersionStatus
from ..spec import SLUG_MAX, TITLE_MAX, ScenarioSpec, SpecError

logger = logging.getLogger(__name__)

# A check still "running" after this long lost its job (a broker outage, a killed worker): the
# author may start another. Above the check task's hard time limit (the default 15 minutes).
REALISM_CHECK_STALE_AFTER = timedelta(minutes=20)


def spec_validate(data: ScenarioSpec | Mapping[str, Any]) -> ScenarioSpec:
    """The one road from client data to a spec: scenarios.spec's rules, as an API-shaped error."""
    if isinstance(data, ScenarioSpec):
        return data
    try:
        return ScenarioSpec.from_dict(data)
    except SpecError as exc:
        raise ApplicationError(
            f"The scenario has {len(exc.errors)} problem(s); see fields.", code="invalid_spec", fields=exc.errors
        ) from None


def _lock_scenario(tenant: Tenant, scenario: Scenario) -> Scenario:
    # Every write to a scenario's versions takes this row lock first, so two saves can't both
    # create "the" draft or publish at once.
    return Scenario.objects.for_tenant(tenant).select_for_update().get(pk=scenario.pk)


def _versions(tenant: Tenant, scenario: Scenario):
    return ScenarioVersion.objects.for_tenant(tenant).filter(scenario=scenario)


def _check_slug_free(tenant: Tenant, slug: str, *, scenario: Scenario | None = None) -> None:
    taken = Scenario.objects.for_tenant(tenant).filter(slug=slug)
    if scenario is not None:
        taken = taken.exclude(pk=scenario.pk)
    if taken.exists():
        raise ApplicationError(
            f"Another scenario already uses the slug “{slug}”.",
            code="slug_taken",
            fields={"slug": f"“{slug}” is already used by another scenario; choose another"},
        )


def _mirror(scenario: Scenario, spec: ScenarioSpec) -> None:
    scenario.slug, scenario.title, scenario.moment = spec.slug, spec.title, spec.moment
    scenario.updated_at = timezone.now()
    scenario.save(update_fields=["slug", "title", "moment", "updated_at"])


def _new_version(tenant: Tenant, actor: User | None, scenario: Scenario, spec: ScenarioSpec) -> ScenarioVersion:
    number = (_versions(tenant, scenario).aggregate(top=Max("number"))["top"] or 0) + 1
    return ScenarioVersion.objects.for_tenant(tenant).create(
        tenant=tenant,
        scenario=scenario,
        number=number,
        status=VersionStatus.DRAFT,
        spec=spec.to_dict(),
        created_by=_person(actor),
    )


def _person(actor: User | None) -> User | None:
    return actor if actor is not None and actor.is_authenticated else None


@transaction.atomic
def scenario_create(
    *,
    tenant: Tenant,
    actor: User | None,
    spec: ScenarioSpec | Mapping[str, Any],
    source_library_slug: str = "",
) -> Scenario:
    """A new scenario with its first version as a draft."""
    spec = spec_validate(spec)
    _check_slug_free(tenant, spec.slug)
    scenario = Scenario.objects.for_tenant(tenant).create(
        tenant=tenant,
        slug=spec.slug,
        title=spec.title,
        moment=spec.moment,
        created_by=_person(actor),
        source_library_slug=source_library_slug,
    )
    version = _new_version(tenant, actor, scenario, spec)
    audit_record(
        tenant=tenant, actor=actor, action="scenario.created", summary=f"Scenario {spec.title} created",
        target=scenario, data={"version": version.number},
    )
    return scenario


@transaction.atomic
def version_update(
    *, tenant: Tenant, actor: User | None, version: ScenarioVersion, spec: ScenarioSpec | Mapping[str, Any]
) -> ScenarioVersion:
    """Change an unused draft's content in place. A used or non-draft version is refused."""
    spec = spec_validate(spec)
    scenario = _lock_scenario(tenant, version.scenario)
    version = ScenarioVersion.objects.for_tenant(tenant).select_for_update().get(pk=version.pk)
    if version.is_locked:
        raise Conflict(
            f"Version {version.number} was used in a practice session, so it can no longer change. "
            "Save again to keep your edits as a new draft.",
            code="version_locked",
        )
    if version.status != VersionStatus.DRAFT:
        raise Conflict(
            f"Version {version.number} is {version.status}; only a draft can be edited. "
            "Edit the scenario to start a new draft.",
            code="version_not_draft",
        )
    _check_slug_free(tenant, spec.slug, scenario=scenario)
    new_content = spec.to_dict()
    fields = ["spec"]
    if new_content != version.spec:
        # The realism check's report was about the old content.
        fields += _realism_clear(version)
    version.spec = new_content
    version.save(update_fields=fields)
    _mirror(scenario, spec)
    audit_record(
        tenant=tenant, actor=actor, action="scenario.draft_saved",
        summary=f"Draft v{version.number} of {spec.title} saved", target=scenario,
    )
    return version


@transaction.atomic
def scenario_edit(
    *, tenant: Tenant, actor: User | None, scenario: Scenario, spec: ScenarioSpec | Mapping[str, Any]
) -> ScenarioVersion:
    """Save an author's edit as the scenario's draft: edit the open draft, or start a new one.

    Never mutates a used version: a draft that a practice session used is retired (archived, its
    content kept) and the edit becomes a new draft. The published version is left as it is.
    """
    spec = spec_validate(spec)
    scenario = _lock_scenario(tenant, scenario)
    draft = _versions(tenant, scenario).filter(status=VersionStatus.DRAFT).select_for_update().first()
    if draft is not None and not draft.is_locked:
        return version_update(tenant=tenant, actor=actor, version=draft, spec=spec)
    _check_slug_free(tenant, spec.slug, scenario=scenario)
    if draft is not None:
        draft.status = VersionStatus.ARCHIVED
        draft.save(update_fields=["status"])
    version = _new_version(tenant, actor, scenario, spec)
    _mirror(scenario, spec)
    audit_record(
        tenant=tenant, actor=actor, action="scenario.draft_saved",
        summary=f"Draft v{version.number} of {spec.title} started", target=scenario,
    )
    return version


@transaction.atomic
def version_publish(*, tenant: Tenant, actor: User | None, version: ScenarioVersion) -> ScenarioVersion:
    """Publish a draft; the previously published version is archived. Clears the scenario's archive.
    Open assignments of the scenario follow the new version (sessions already started keep theirs)."""
    scenario = _lock_scenario(tenant, version.scenario)
    version = ScenarioVersion.objects.for_tenant(tenant).select_for_update().get(pk=version.pk)
    if version.status != VersionStatus.DRAFT:
        raise Conflict(f"Version {version.number} is {version.status}, not a draft.", code="version_not_draft")
    _require_realism_check(tenant, version)
    spec = spec_validate(version.spec)  # stored content is re-checked: rules may have tightened since
    _versions(tenant, scenario).filter(status=VersionStatus.PUBLISHED).update(status=VersionStatus.ARCHIVED)
    version.status = VersionStatus.PUBLISHED
    version.published_at = timezone.now()
    version.save(update_fields=["status", "published_at"])
    scenario.archived_at = None
    scenario.save(update_fields=["archived_at"])
    # An assignment names a scenario to practice, not a frozen text: left on the archived version it
    # would answer "Start practice" with a 404 (docs/scenarios.md, "Assignments and new versions").
    moved = Assignment.objects.for_tenant(tenant).filter(scenario=scenario, cancelled_at__isnull=True).update(
        version=version
    )
    _mirror(scenario, spec)
    audit_record(
        tenant=tenant, actor=actor, action="scenario.published",
        summary=f"Version {version.number} of {spec.title} published", target=scenario,
        data={"assignments_moved": moved} if moved else None,
    )
    return version


def scenario_publish(*, tenant: Tenant, actor: User | None, scenario: Scenario) -> ScenarioVersion:
    draft = _versions(tenant, scenario).filter(status=VersionStatus.DRAFT).first()
    if draft is None:
        raise Conflict("There is no draft to publish. Edit the scenario first.", code="nothing_to_publish")
    return version_publish(tenant=tenant, actor=actor, version=draft)


@transaction.atomic
def scenario_archive(*, tenant: Tenant, actor: User | None, scenario: Scenario) -> Scenario:
    """Take a scenario out of use: it can't be assigned any more. Open assignments keep their
    pinned version; publishing a draft later brings the scenario back."""
    scenario = _lock_scenario(tenant, scenario)
    if scenario.archived_at is not None:
        raise Conflict("This scenario is already archived.", code="already_archived")
    _versions(tenant, scenario).filter(status=VersionStatus.PUBLISHED).update(status=VersionStatus.ARCHIVED)
    scenario.archived_at = timezone.now()
    scenario.save(update_fields=["archived_at"])
    audit_record(
        tenant=tenant, actor=actor, action="scenario.archived", summary=f"Scenario {scenario.title} archived",
        target=scenario,
    )
    return scenario


def _copy_slug(tenant: Tenant, slug: str) -> str:
    taken = set(Scenario.objects.for_tenant(tenant).filter(slug__startswith=slug[:40]).values_list("slug", flat=True))
    for n in range(1, 1000):
        suffix = "-copy" if n == 1 else f"-copy-{n}"
        candidate = slug[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
    raise Conflict("Too many copies of this scenario already.", code="too_many_copies")


@transaction.atomic
def scenario_duplicate(*, tenant: Tenant, actor: User | None, scenario: Scenario) -> Scenario:
    """A new scenario, slug "<slug>-copy[-n]", whose draft v1 is the original's working content."""
    from ..selectors import scenario_get, scenario_working_version

    source = scenario_working_version(scenario_get(tenant=tenant, scenario_id=scenario.pk))
    if source is None:
        raise Conflict("This scenario has no content to copy.", code="nothing_to_copy")
    data = dict(source.spec)
    data["slug"] = _copy_slug(tenant, scenario.slug)
    suffix = " (copy)"
    data["title"] = str(data.get("title", ""))[: TITLE_MAX - len(suffix)].rstrip() + suffix
    copy = scenario_create(tenant=tenant, actor=actor, spec=data)
    audit_record(
        tenant=tenant, actor=actor, action="scenario.duplicated",
        summary=f"Scenario {scenario.title} duplicated as {copy.slug}", target=copy,
        data={"source_id": scenario.pk},
    )
    return copy


@transaction.atomic
def version_mark_used(*, tenant: Tenant, version: ScenarioVersion) -> ScenarioVersion:
    """The runner calls this when a practice session starts: from now on the content is frozen."""
    version = ScenarioVersion.objects.for_tenant(tenant).select_for_update().get(pk=version.pk)
    if version.used_at is None:
        version.used_at = timezone.now()
        version.save(update_fields=["used_at"])
    return version


# --- the realism check's report ---------------------------------------------------------------


def _realism_clear(version: ScenarioVersion) -> list[str]:
    version.realism_status, version.realism_report, version.realism_engine = RealismStatus.NOT_RUN, None, ""
    version.realism_requested_at = version.realism_checked_at = None
    return ["realism_status", "realism_report", "realism_engine", "realism_requested_at", "realism_checked_at"]


def _require_realism_check(tenant: Tenant, version: ScenarioVersion) -> None:
    """With the tenant's "block publishing" setting on, only a version whose own content passed
    the realism check may be published."""
    if not ai_settings_get(tenant=tenant).block_publish_without_realism_check or version.realism_passed:
        return
    why = {
        RealismStatus.FAILED: f"the realism check of draft v{version.number} failed. Fix what it found and "
        "check the scenario again",
        RealismStatus.RUNNING: f"the realism check of draft v{version.number} is still running. Wait for it "
        "to pass",
        RealismStatus.ERROR: f"the realism check of draft v{version.number} could not run. Check the "
        "scenario again",
    }.get(version.realism_status, f"draft v{version.number} hasn't been checked yet. Use “Check this scenario”")
    raise Conflict(
        f"Your organization only publishes scenarios that pass the realism check, and {why} before publishing.",
        code="realism_check_required",
    )


@transaction.atomic
def version_realism_start(*, tenant: Tenant, actor: User | None, version: ScenarioVersion, engine: str) -> ScenarioVersion:
    """Mark a check of this version as running on `engine` (the old report is dropped: a new one is
    on its way). Refused while another check of it is still running."""
    _lock_scenario(tenant, version.scenario)
    version = ScenarioVersion.objects.for_tenant(tenant).select_for_update().get(pk=version.pk)
    now = timezone.now()
    if (
        version.realism_status == RealismStatus.RUNNING
        and version.realism_requested_at is not None
        and now - version.realism_requested_at < REALISM_CHECK_STALE_AFTER
    ):
        raise Conflict(
            f"A realism check of version {version.number} is already running; its report will appear here.",
            code="realism_check_running",
        )
    _realism_clear(version)
    version.realism_status, version.realism_engine, version.realism_requested_at = RealismStatus.RUNNING, engine, now
    version.save(update_fields=["realism_status", "realism_report", "realism_engine", "realism_requested_at",
                                "realism_checked_at"])
    audit_record(
        tenant=tenant, actor=actor, action="scenario.realism_check_started",
        summary=f"Realism check of v{version.number} of {version.scenario.title} started ({engine})",
        target=version.scenario, data={"version": version.number, "engine": engine},
    )
    return version


@transaction.atomic
def version_realism_record(
    *,
    tenant: Tenant,
    version_id: int,
    requested_at: datetime,
    checked_spec: Mapping[str, Any],
    report: Mapping[str, Any] | None,
    engine: str,
    error: str = "",
) -> ScenarioVersion | None:
    """Store a finished check's report (or why it could not run) on the version it checked.

    Only for the check that is still expected: a version that is gone, whose content changed while
    the check ran, or that has a newer check, keeps what it has (returns None). So a check that
    runs twice stores its report once."""
    version = ScenarioVersion.objects.for_tenant(tenant).select_for_update().filter(pk=version_id).first()
    if version is None:
        logger.info("Realism check of version %s: the version is gone; nothing stored.", version_id)
        return None
    if (
        version.realism_status != RealismStatus.RUNNING
        or version.realism_requested_at != requested_at
        or dict(version.spec) != dict(checked_spec)
    ):
        logger.info("Realism check of version %s is out of date; its report is not stored.", version_id)
        return None
    if error:
        version.realism_status, version.realism_report = RealismStatus.ERROR, {"error": error}
    else:
        passed = bool(report and report.get("passed"))
        version.realism_status = RealismStatus.PASSED if passed else RealismStatus.FAILED
        version.realism_report = dict(report or {})
    version.realism_engine = engine
    version.realism_checked_at = timezone.now()
    version.save(update_fields=["realism_status", "realism_report", "realism_engine", "realism_checked_at"])
    audit_record(
        tenant=tenant, actor=None, action="scenario.realism_checked",
        summary=f"Realism check of v{version.number} of {version.scenario.title}: {version.get_realism_status_display().lower()}",
        target=version.scenario,
        data={"version": version.number, "engine": engine, "status": version.realism_status},
    )
    return version
