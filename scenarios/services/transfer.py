"""Scenarios in and out as YAML (UI, API and `manage.py scenarios`), and the starter library.

Import is all-or-nothing: every scenario in the file is validated before anything is written, and
the writes share one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from coachhub.core.errors import ApplicationError, Conflict, NotFound
from coachhub.tenancy.models import Tenant, User
from coachhub.tenancy.services import audit_record

from ..library import LibraryScenarioNotFound, library_get, library_specs
from ..models import Scenario, ScenarioVersion
from ..spec import ScenarioSpec, SpecError, dump_yaml, load_yaml
from .authoring import scenario_create, scenario_edit, version_publish


@dataclass
class ImportSummary:
    created: list[str] = field(default_factory=list)
    new_drafts: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [
            f"{len(self.created)} created",
            f"{len(self.new_drafts)} updated as drafts",
            f"{len(self.unchanged)} unchanged",
        ]
        if self.published:
            parts.append(f"{len(self.published)} published")
        return ", ".join(parts)


def scenarios_export_yaml(*, tenant: Tenant, slugs: list[str] | None = None) -> str:
    """Each scenario's working content (its draft, else its published version), sorted by slug.
    Without slugs, every scenario that isn't archived."""
    from ..selectors import scenario_list, scenario_working_version

    scenarios = scenario_list(tenant=tenant).order_by("slug")
    if slugs:
        wanted = list(dict.fromkeys(slugs))
        scenarios = scenarios.filter(slug__in=wanted)
        missing = sorted(set(wanted) - {scenario.slug for scenario in scenarios})
        if missing:
            raise NotFound(
                f"No scenario with slug {', '.join(missing)}.", code="scenario_not_found",
                fields={"slug": f"unknown: {', '.join(missing)}"},
            )
    else:
        scenarios = scenarios.filter(archived_at__isnull=True)
    specs = [ScenarioSpec.from_dict(v.spec) for s in scenarios if (v := scenario_working_version(s)) is not None]
    if not specs:
        raise NotFound("There are no scenarios to export yet.", code="scenario_not_found")
    return dump_yaml(specs)


def _load(text: str) -> list[ScenarioSpec]:
    try:
        return load_yaml(text)
    except SpecError as exc:
        raise ApplicationError(
            f"The file has {len(exc.errors)} problem(s); nothing was imported.", code="invalid_spec",
            fields=exc.errors,
        ) from None


@transaction.atomic
def scenarios_import_yaml(*, tenant: Tenant, actor: User | None, text: str, publish: bool = False) -> ImportSummary:
    """New slugs become new scenarios; known slugs get their content as a new draft (or an edited
    draft). With `publish`, every imported scenario's draft is published."""
    from ..selectors import scenario_get_by_slug, scenario_working_version

    specs = _load(text)
    summary = ImportSummary()
    for spec in specs:
        scenario = scenario_get_by_slug(tenant=tenant, slug=spec.slug)
        if scenario is None:
            scenario = scenario_create(tenant=tenant, actor=actor, spec=spec)
            summary.created.append(spec.slug)
        else:
            current = scenario_working_version(scenario)
            if current is not None and current.spec == spec.to_dict():
                summary.unchanged.append(spec.slug)
            else:
                scenario_edit(tenant=tenant, actor=actor, scenario=scenario, spec=spec)
                summary.new_drafts.append(spec.slug)
        if publish:
            draft = ScenarioVersion.objects.for_tenant(tenant).filter(scenario=scenario, status="draft").first()
            if draft is not None:
                version_publish(tenant=tenant, actor=actor, version=draft)
                summary.published.append(spec.slug)
    audit_record(
        tenant=tenant, actor=actor, action="scenario.imported", summary=f"Scenario import: {summary.describe()}",
        data={"created": summary.created, "new_drafts": summary.new_drafts, "published": summary.published},
    )
    return summary


@transaction.atomic
def library_install(*, tenant: Tenant, actor: User | None, slug: str) -> tuple[Scenario, bool]:
    """Install a starter scenario as published version 1. Returns (scenario, created); installing
    again returns the scenario installed before."""
    try:
        spec = library_get(slug)
    except LibraryScenarioNotFound:
        raise NotFound("There is no starter scenario with that name.", code="library_scenario_not_found") from None
    existing = Scenario.objects.for_tenant(tenant).filter(source_library_slug=slug).first()
    if existing is not None:
        return existing, False
    if Scenario.objects.for_tenant(tenant).filter(slug=spec.slug).exists():
        raise Conflict(
            f"A scenario with the slug “{spec.slug}” already exists; rename it to install this starter.",
            code="slug_taken",
        )
    scenario = scenario_create(tenant=tenant, actor=actor, spec=spec, source_library_slug=slug)
    draft = ScenarioVersion.objects.for_tenant(tenant).get(scenario=scenario, number=1)
    version_publish(tenant=tenant, actor=actor, version=draft)
    audit_record(
        tenant=tenant, actor=actor, action="library.installed", summary=f"Starter scenario {spec.title} installed",
        target=scenario,
    )
    return scenario, True


def library_install_all(*, tenant: Tenant, actor: User | None) -> list[Scenario]:
    """Every starter scenario not installed yet (skipping slugs the tenant already uses)."""
    installed = []
    taken = set(Scenario.objects.for_tenant(tenant).values_list("slug", flat=True))
    sources = set(Scenario.objects.for_tenant(tenant).values_list("source_library_slug", flat=True))
    for spec in library_specs():
        if spec.slug in sources or spec.slug in taken:
            continue
        scenario, _ = library_install(tenant=tenant, actor=actor, slug=spec.slug)
        installed.append(scenario)
    return installed
