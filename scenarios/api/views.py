"""Scenarios API: scenarios (CRUD, publish/archive/duplicate, YAML import/export), versions (diff,
draft edits) and assignments. Same roles as the pages; every id is looked up inside the tenant."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from coachhub.core.errors import NotFound
from coachhub.core.parsers import JSONParser
from coachhub.tenancy.access import ASSIGNERS, AUTHORS
from coachhub.tenancy.api.base import TenantViewSet
from coachhub.tenancy.selectors import membership_get, team_get

from .. import selectors, services
from ..diff import spec_diff
from ..models import MOMENT_CHOICES, Assignment, Scenario, ScenarioVersion
from ..selectors import STATUS_FILTERS
from . import serializers as s


class CodedNotFoundMixin:
    """A missing (or another tenant's) object answers with this resource's own stable code."""

    not_found_code = "not_found"
    not_found_message = "Not found."

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            raise NotFound(self.not_found_message, code=self.not_found_code) from None


def _lookup(fn, code: str, message: str, **kwargs):
    try:
        return fn(**kwargs)
    except Http404:
        raise NotFound(message, code=code) from None


def _int_param(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


SCENARIO_FILTERS = [
    OpenApiParameter("moment", str, enum=[key for key, _ in MOMENT_CHOICES], description="Only this moment."),
    OpenApiParameter("status", str, description="One of: " + ", ".join(STATUS_FILTERS) + " (draft: has a draft)."),
    OpenApiParameter("team", int, description="Only scenarios with an open assignment to this team."),
]
# The YAML document's shape (clients parse it), specs as in docs/scenarios.md: one scenario is the
# spec itself, several are {"scenarios": [<spec>, …]} (scenarios.spec.dump_yaml).
YAML_DOCUMENT = {
    "oneOf": [
        {
            "type": "object",
            "properties": {"scenarios": {"type": "array", "items": {"type": "object"}}},
            "required": ["scenarios"],
        },
        {"type": "object", "description": "A single scenario's spec.", "required": ["slug", "title"]},
    ]
}
YAML_RESPONSE = {(200, "application/yaml"): OpenApiResponse(YAML_DOCUMENT, description="Scenarios as YAML")}


class ScenarioViewSet(CodedNotFoundMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Scenarios of the tenant. Enablement leads and tenant admins only."""

    model = Scenario
    serializer_class = s.ScenarioOutput
    role_map = {"GET": AUTHORS, "POST": AUTHORS, "PUT": AUTHORS}
    not_found_code, not_found_message = "scenario_not_found", "No such scenario."

    def scoped_queryset(self):
        params = self.request.query_params
        return selectors.scenario_list(
            tenant=self.tenant, moment=params.get("moment", ""), status=params.get("status", ""),
            team_id=_int_param(params.get("team")),
        )

    def _saved(self, scenario: Scenario, version: ScenarioVersion, code: int = 200) -> Response:
        scenario = selectors.scenario_get(tenant=self.tenant, scenario_id=scenario.pk)
        body = {"scenario": s.ScenarioDetailOutput(scenario).data, "version": s.VersionOutput(version).data}
        return Response(body, status=code)

    @extend_schema(parameters=SCENARIO_FILTERS, responses=s.ScenarioOutput(many=True))
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=s.ScenarioDetailOutput)
    def retrieve(self, request, *args, **kwargs):
        return Response(s.ScenarioDetailOutput(self.get_object()).data)

    @extend_schema(request=s.ScenarioInput, responses={201: s.ScenarioSavedOutput})
    def create(self, request, *args, **kwargs):
        data = s.ScenarioInput(data=request.data)
        data.is_valid(raise_exception=True)
        scenario = services.scenario_create(tenant=self.tenant, actor=request.user, spec=data.validated_data["spec"])
        version = selectors.scenario_working_version(selectors.scenario_get(tenant=self.tenant, scenario_id=scenario.pk))
        return self._saved(scenario, version, status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ScenarioInput, responses=s.ScenarioSavedOutput,
        description="Save new content as the draft: edits the open draft, or starts a new one. "
        "The published version never changes.",
    )
    def update(self, request, *args, **kwargs):
        scenario = self.get_object()
        data = s.ScenarioInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.scenario_edit(
            tenant=self.tenant, actor=request.user, scenario=scenario, spec=data.validated_data["spec"]
        )
        return self._saved(scenario, version)

    @extend_schema(
        request=None, responses=s.VersionOutput,
        description="Publish the draft; the old published version is archived. 409 nothing_to_publish without a "
        "draft; 409 realism_check_required when the organization publishes only versions that passed the realism "
        "check (“Check this scenario”) and this draft has not.",
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, *args, **kwargs):
        version = services.scenario_publish(tenant=self.tenant, actor=request.user, scenario=self.get_object())
        return Response(s.VersionOutput(version).data)

    @extend_schema(request=None, responses=s.ScenarioDetailOutput)
    @action(detail=True, methods=["post"])
    def archive(self, request, *args, **kwargs):
        scenario = services.scenario_archive(tenant=self.tenant, actor=request.user, scenario=self.get_object())
        return Response(s.ScenarioDetailOutput(selectors.scenario_get(tenant=self.tenant, scenario_id=scenario.pk)).data)

    @extend_schema(request=None, responses={201: s.ScenarioDetailOutput})
    @action(detail=True, methods=["post"])
    def duplicate(self, request, *args, **kwargs):
        copy = services.scenario_duplicate(tenant=self.tenant, actor=request.user, scenario=self.get_object())
        data = s.ScenarioDetailOutput(selectors.scenario_get(tenant=self.tenant, scenario_id=copy.pk)).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("slug", str, many=True, description="Only these scenarios (repeatable).")],
        responses=YAML_RESPONSE,
    )
    @action(detail=False, methods=["get"], url_path="export")
    def export_yaml(self, request, *args, **kwargs):
        text = services.scenarios_export_yaml(tenant=self.tenant, slugs=request.query_params.getlist("slug") or None)
        return HttpResponse(text, content_type="application/yaml; charset=utf-8")

    @extend_schema(
        request={"multipart/form-data": s.ImportInput, "application/json": s.ImportInput},
        responses=s.ImportOutput,
        description="All or nothing: any invalid scenario answers 400 invalid_spec with every bad field, "
        "and nothing is saved.",
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[JSONParser, MultiPartParser, FormParser])
    def import_yaml(self, request, *args, **kwargs):
        data = s.ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        summary = services.scenarios_import_yaml(
            tenant=self.tenant, actor=request.user, text=data.validated_data["yaml"],
            publish=data.validated_data["publish"],
        )
        return Response(s.ImportOutput(summary).data)


class VersionViewSet(CodedNotFoundMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Scenario versions. Only an unused draft's content can change."""

    model = ScenarioVersion
    serializer_class = s.VersionOutput
    role_map = {"GET": AUTHORS, "PUT": AUTHORS, "POST": AUTHORS}
    not_found_code, not_found_message = "version_not_found", "No such scenario version."

    def scoped_queryset(self):
        versions = selectors.version_list(tenant=self.tenant)
        scenario_id = _int_param(self.request.query_params.get("scenario"))
        if scenario_id is not None:
            versions = versions.filter(scenario_id=scenario_id)
        return versions

    @extend_schema(parameters=[OpenApiParameter("scenario", int, description="Only this scenario's versions.")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=s.ScenarioInput, responses=s.VersionOutput,
        description="Edit this draft in place. 409 version_locked once a practice session used it, "
        "409 version_not_draft for a published or archived version.",
    )
    def update(self, request, *args, **kwargs):
        version = self.get_object()
        data = s.ScenarioInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.version_update(
            tenant=self.tenant, actor=request.user, version=version, spec=data.validated_data["spec"]
        )
        return Response(s.VersionOutput(version).data)

    @extend_schema(request=None, responses=s.VersionOutput)
    @action(detail=True, methods=["post"])
    def publish(self, request, *args, **kwargs):
        version = services.version_publish(tenant=self.tenant, actor=request.user, version=self.get_object())
        return Response(s.VersionOutput(version).data)

    @extend_schema(
        parameters=[OpenApiParameter("against", int, required=True, description="The version to compare with.")],
        responses=s.DiffOutput,
    )
    @action(detail=True, methods=["get"])
    def diff(self, request, *args, **kwargs):
        version = self.get_object()
        against_id = _int_param(request.query_params.get("against"))
        if against_id is None:
            raise NotFound("Say which version to compare with: ?against=<id>.", code="version_not_found")
        other = _lookup(
            selectors.version_get, "version_not_found", "No such scenario version.",
            tenant=self.tenant, version_id=against_id,
        )
        changes = spec_diff(other.spec, version.spec)
        body = {"before_id": other.id, "after_id": version.id, "changes": [c.__dict__ for c in changes]}
        return Response(s.DiffOutput(body).data)


class AssignmentViewSet(CodedNotFoundMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Assignments. Managers see and make them for the reps they coach; leads and admins for anyone."""

    model = Assignment
    serializer_class = s.AssignmentOutput
    role_map = {"GET": ASSIGNERS, "POST": ASSIGNERS}
    not_found_code, not_found_message = "assignment_not_found", "No such assignment."

    def scoped_queryset(self):
        return selectors.assignment_list(membership=self.membership)

    @extend_schema(responses=s.AssignmentDetailOutput)
    def retrieve(self, request, *args, **kwargs):
        return Response(s.AssignmentDetailOutput(self.get_object(), context=self.get_serializer_context()).data)

    @extend_schema(request=s.AssignmentInput, responses={201: s.AssignmentDetailOutput})
    def create(self, request, *args, **kwargs):
        data = s.AssignmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        tenant = self.tenant
        scenario = _lookup(
            selectors.scenario_get, "scenario_not_found", "No such scenario.", tenant=tenant, scenario_id=d["scenario_id"]
        )
        reps = [
            _lookup(membership_get, "member_not_found", "No such member.", tenant=tenant, membership_id=rep_id)
            for rep_id in dict.fromkeys(d["rep_ids"])
        ]
        teams = [
            _lookup(team_get, "team_not_found", "No such team.", tenant=tenant, team_id=team_id)
            for team_id in dict.fromkeys(d["team_ids"])
        ]
        assignment = services.assignment_create(
            tenant=tenant, assigned_by=self.membership, scenario=scenario, reps=reps, teams=teams,
            due_on=d["due_on"], focus_behavior=d["focus_behavior"], max_attempts=d["max_attempts"], note=d["note"],
        )
        assignment = self.scoped_queryset().get(pk=assignment.pk)
        return Response(
            s.AssignmentDetailOutput(assignment, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses=s.AssignmentOutput)
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        assignment = services.assignment_cancel(
            tenant=self.tenant, cancelled_by=self.membership, assignment=self.get_object()
        )
        return Response(s.AssignmentOutput(self.scoped_queryset().get(pk=assignment.pk)).data)
