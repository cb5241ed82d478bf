"""KPI API: upload a file (dry run or background import), follow imports, list metrics. Same roles
as the pages: managers, enablement leads and tenant admins; reps are refused."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from coachhub.core.errors import NotFound
from coachhub.core.limits import KPI_UPLOAD_LIMITED, enforce
from coachhub.tenancy.access import AUTHORS, REVIEWERS
from coachhub.tenancy.api.base import TenantViewSet

from .. import selectors, services
from ..kpi.importing import ensure_builtin_metrics
from ..models import KpiImport, KpiMetric
from . import serializers as s

ERROR_RESPONSES = {
    400: OpenApiResponse(description='{"error": {"code", "message", "fields"}}'),
    409: OpenApiResponse(description="The import is already queued or done."),
    413: OpenApiResponse(description="The file is over the size limit (or too big for a dry run)."),
}
UPLOAD_RESPONSES = {**ERROR_RESPONSES, 429: OpenApiResponse(description="Too many uploads by this user in a minute.")}


class KpiImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """KPI file imports. Managers see the imports they uploaded; leads and admins all of them."""

    model = KpiImport
    serializer_class = s.KpiImportOutput
    role_map = {"GET": REVIEWERS, "POST": REVIEWERS}

    def scoped_queryset(self):
        return selectors.kpi_import_list(tenant=self.tenant, membership=self.membership)

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            raise NotFound("No such KPI import.", code="kpi_import_not_found") from None

    @extend_schema(responses=s.KpiImportOutput(many=True))
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=s.KpiImportOutput)
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": s.KpiImportInput},
        responses={200: s.KpiImportOutput, 202: s.KpiImportOutput, **UPLOAD_RESPONSES},
        description="With dry_run (the default) the file is checked now and the answer says what would be "
        "created, updated or left unchanged, and every row-level error (200; `ok` is false when any row is bad). "
        "Without dry_run the file is stored and imported in the background (202): poll the import until its "
        "status is committed or failed. Any bad row means nothing is imported.",
    )
    def create(self, request, *args, **kwargs):
        data = s.KpiImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        name = data.validated_data["source"]
        # Counted before anything is written: a refused upload leaves no source or import behind.
        enforce(action="kpi_upload", user_id=request.user.id, message=KPI_UPLOAD_LIMITED)
        source = selectors.kpi_source_get_by_name(tenant=self.tenant, name=name) or services.kpi_source_save(
            tenant=self.tenant, actor=request.user, name=name
        )
        dry_run = data.validated_data["dry_run"]
        kpi_import = services.kpi_import_upload(
            tenant=self.tenant, actor=request.user, membership=self.membership, source=source,
            upload=data.validated_data["file"], dry_run=dry_run,
        )
        kpi_import = self.scoped_queryset().get(pk=kpi_import.pk)
        return Response(
            s.KpiImportOutput(kpi_import).data, status=status.HTTP_200_OK if dry_run else status.HTTP_202_ACCEPTED
        )

    @extend_schema(request=None, responses={202: s.KpiImportOutput, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def commit(self, request, *args, **kwargs):
        """Imports a file that passed its dry run, in the background (it is checked again first)."""
        kpi_import = services.kpi_import_commit(tenant=self.tenant, actor=request.user, kpi_import=self.get_object())
        kpi_import = self.scoped_queryset().get(pk=kpi_import.pk)
        return Response(s.KpiImportOutput(kpi_import).data, status=status.HTTP_202_ACCEPTED)


class KpiMetricViewSet(mixins.ListModelMixin, TenantViewSet):
    """The tenant's KPIs: the built-in ones and its own."""

    model = KpiMetric
    serializer_class = s.KpiMetricOutput
    role_map = {"GET": REVIEWERS, "POST": AUTHORS, "PATCH": AUTHORS}

    def scoped_queryset(self):
        return selectors.kpi_metric_list(tenant=self.tenant)

    @extend_schema(responses=s.KpiMetricOutput(many=True))
    def list(self, request, *args, **kwargs):
        ensure_builtin_metrics(tenant=self.tenant)
        return super().list(request, *args, **kwargs)

    @extend_schema(request=s.KpiMetricInput, responses={201: s.KpiMetricOutput})
    def create(self, request, *args, **kwargs):
        """Add a custom KPI (enablement leads and admins). 400 `invalid_metric` names each bad field."""
        data = s.KpiMetricInput(data=request.data)
        data.is_valid(raise_exception=True)
        metric = services.kpi_metric_create(tenant=self.tenant, actor=request.user, **data.validated_data)
        return Response(s.KpiMetricOutput(metric).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.KpiMetricChangeInput, responses=s.KpiMetricOutput)
    def partial_update(self, request, *args, **kwargs):
        """Change a custom KPI (enablement leads and admins): name, unit, direction, accepted range or
        other names, not its key. 400 `invalid_metric` names each bad field; 409 `metric_builtin`."""
        metric = self.get_object()
        data = s.KpiMetricChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        metric = services.kpi_metric_update(
            tenant=self.tenant, actor=request.user, metric=metric,
            **{**services.kpi_metric_definition(metric), **data.validated_data},
        )
        return Response(s.KpiMetricOutput(metric).data)

