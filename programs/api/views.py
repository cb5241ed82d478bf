"""Program API (mounted under /api/v1/t/<tenant_slug>/): programs and readiness, for dashboards
and LMS/HR integrations. Reads only; programs are built on the pages."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from coachhub.core.errors import NotFound
from coachhub.tenancy.access import ALL_ROLES, REVIEWERS
from coachhub.tenancy.api.base import TenantViewSet

from .. import selectors
from ..models import Program, ProgramEnrollment
from . import serializers as s


class ProgramViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Programs the caller follows; `readiness` lists the reps in one, with the evidence."""

    model = Program
    serializer_class = s.ProgramOutput
    role_map = {"GET": REVIEWERS}

    def scoped_queryset(self):
        return selectors.program_list(membership=self.membership)

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            raise NotFound("No such program.", code="program_not_found") from None

    @extend_schema(responses=s.ProgramDetailOutput)
    def retrieve(self, request, *args, **kwargs):
        program = self.get_object()
        context = {**self.get_serializer_context(), "steps": selectors.program_steps(program=program)}
        return Response(s.ProgramDetailOutput(program, context=context).data)

    @extend_schema(responses=s.ReadinessOutput(many=True))
    @action(detail=True, methods=["get"])
    def readiness(self, request, *args, **kwargs):
        program = self.get_object()
        enrollments = selectors.enrollment_list(membership=self.membership, program=program)
        page = self.paginate_queryset(enrollments)
        rows = selectors.readiness_rows(tenant=self.tenant, enrollments=page)
        return self.get_paginated_response(s.ReadinessOutput([s.readiness_data(r) for r in rows], many=True).data)


class MyReadinessViewSet(mixins.ListModelMixin, TenantViewSet):
    """The caller's own programs and readiness."""

    model = ProgramEnrollment
    serializer_class = s.ReadinessOutput
    role_map = {"GET": ALL_ROLES}

    def scoped_queryset(self):
        return selectors.my_enrollments(membership=self.membership)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        rows = selectors.readiness_rows(tenant=self.tenant, enrollments=page)
        return self.get_paginated_response(s.ReadinessOutput([s.readiness_data(r) for r in rows], many=True).data)
