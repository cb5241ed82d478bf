"""Tenancy API: the caller, members, teams, invitations, member CSV import, audit log, tokens."""

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..access import ADMIN, ALL_ROLES, REVIEWERS
from ..models import ApiToken, AuditEvent, Invitation, Membership, Team
from . import serializers as s
from .base import TenantViewSet


class MeView(APIView):
    """Who the caller is and which workspaces they belong to."""

    @extend_schema(responses=s.MeOutput)
    def get(self, request):
        user = request.user
        memberships = selectors.user_memberships(user=user)
        if getattr(request, "auth", None) is not None and hasattr(request.auth, "tenant_id"):
            memberships = [m for m in memberships if m.tenant_id == request.auth.tenant_id]
        data = {"email": user.email, "full_name": user.full_name, "is_staff": user.is_staff, "memberships": memberships}
        return Response(s.MeOutput(data).data)


class IsPlatformOperator(permissions.BasePermission):
    """An operator's own logged-in session. A personal API token belongs to one tenant and acts only
    inside it, even when an operator minted it: it never carries platform powers."""

    message = "Only platform operators can do that, logged in as themselves (tenant API tokens can't)."

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, ApiToken):
            return False
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class PlatformTenantView(APIView):
    """Platform operators create a tenant and invite its first admin."""

    permission_classes = [IsPlatformOperator]

    @extend_schema(request=s.TenantCreateInput, responses={201: s.TenantCreatedOutput})
    def post(self, request):
        data = s.TenantCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        tenant, invitation = services.tenant_create(actor=request.user, **data.validated_data)
        return Response(
            {"name": tenant.name, "slug": tenant.slug, "invitation_id": invitation.id}, status=status.HTTP_201_CREATED
        )


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """People in the tenant. Reps see themselves, managers their teams, leads and admins everyone."""

    model = Membership
    serializer_class = s.MemberOutput
    role_map = {"GET": ALL_ROLES, "PATCH": ADMIN, "import_csv": ADMIN}

    def scoped_queryset(self):
        visible = selectors.visible_rep_memberships(membership=self.membership).values("id")
        return selectors.member_list(tenant=self.tenant).filter(Q(id__in=visible) | Q(id=self.membership.id))

    @extend_schema(request=s.MemberUpdateInput, responses=s.MemberOutput)
    def partial_update(self, request, *args, **kwargs):
        membership = self.get_object()
        data = s.MemberUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.membership_change_role(
            tenant=self.tenant, actor=request.user, membership=membership, role=data.validated_data["role"]
        )
        return Response(s.MemberOutput(selectors.member_list(tenant=self.tenant).get(pk=membership.pk)).data)

    @extend_schema(request={"multipart/form-data": s.MemberImportInput}, responses=s.MemberImportOutput)
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_csv(self, request, *args, **kwargs):
        """Invite members from a CSV (email,name,role,team). With dry_run, only report per-row errors
        (200; `ok` is false when any row is bad). Without it, any bad row answers 400 invalid_csv."""
        data = s.MemberImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        raw = data.validated_data["file"].read()
        preview = services.members_csv_preview(tenant=self.tenant, raw=raw)
        created = 0
        if not data.validated_data["dry_run"]:
            created = len(services.members_csv_commit(tenant=self.tenant, actor=request.user, raw=raw))
        body = {
            "ok": preview.ok,
            "dry_run": data.validated_data["dry_run"],
            "created": created,
            "file_errors": preview.file_errors,
            "rows": preview.rows,
        }
        # A dry run that found problems still did its job: 200 with `ok` false and the per-row report,
        # as KPI imports answer. Real 400s always carry the one error shape (a bad commit raises).
        return Response(s.MemberImportOutput(body).data)


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = Team
    serializer_class = s.TeamOutput
    role_map = {"GET": REVIEWERS, "POST": ADMIN}

    def scoped_queryset(self):
        return selectors.team_list(tenant=self.tenant)

    @extend_schema(request=s.TeamInput, responses={201: s.TeamOutput})
    def create(self, request, *args, **kwargs):
        data = s.TeamInput(data=request.data)
        data.is_valid(raise_exception=True)
        team = services.team_create(tenant=self.tenant, actor=request.user, name=data.validated_data["name"])
        return Response(s.TeamOutput(self.scoped_queryset().get(pk=team.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.TeamMembershipInput, responses=s.TeamOutput)
    @action(detail=True, methods=["post"], url_path="people")
    def people(self, request, *args, **kwargs):
        """Add or remove a person as a member (rep) or coach (manager) of the team."""
        team = self.get_object()
        data = s.TeamMembershipInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = selectors.membership_get(tenant=self.tenant, membership_id=data.validated_data["membership_id"])
        services.team_set_membership(
            tenant=self.tenant, actor=request.user, team=team, membership=membership,
            kind=data.validated_data["kind"], present=data.validated_data["present"],
        )
        return Response(s.TeamOutput(self.scoped_queryset().get(pk=team.pk)).data)


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = Invitation
    serializer_class = s.InvitationOutput
    role_map = {"GET": ADMIN, "POST": ADMIN}

    def scoped_queryset(self):
        return selectors.invitation_list(tenant=self.tenant)

    @extend_schema(request=s.InvitationInput, responses={201: s.InvitationOutput})
    def create(self, request, *args, **kwargs):
        data = s.InvitationInput(data=request.data)
        data.is_valid(raise_exception=True)
        team_id = data.validated_data.pop("team_id")
        team = selectors.team_get(tenant=self.tenant, team_id=team_id) if team_id else None
        invitation, _ = services.invitation_create(tenant=self.tenant, actor=request.user, team=team, **data.validated_data)
        return Response(s.InvitationOutput(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.InvitationOutput)
    @action(detail=True, methods=["post"])
    def resend(self, request, *args, **kwargs):
        invitation = self.get_object()
        services.invitation_resend(tenant=self.tenant, actor=request.user, invitation=invitation)
        invitation.refresh_from_db()
        return Response(s.InvitationOutput(invitation).data)

    @extend_schema(request=None, responses=s.InvitationOutput)
    @action(detail=True, methods=["post"])
    def revoke(self, request, *args, **kwargs):
        invitation = services.invitation_revoke(tenant=self.tenant, actor=request.user, invitation=self.get_object())
        return Response(s.InvitationOutput(invitation).data)


class AuditEventViewSet(mixins.ListModelMixin, TenantViewSet):
    model = AuditEvent
    serializer_class = s.AuditEventOutput
    role_map = {"GET": ADMIN}

    def scoped_queryset(self):
        return selectors.audit_event_list(tenant=self.tenant)


class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, TenantViewSet):
    """The caller's own API tokens for this tenant."""

    model = ApiToken
    serializer_class = s.ApiTokenOutput
    role_map = {"GET": ALL_ROLES, "POST": ALL_ROLES, "DELETE": ALL_ROLES}

    def scoped_queryset(self):
        return selectors.api_token_list(tenant=self.tenant, user=self.request.user)

    @extend_schema(request=s.ApiTokenInput, responses={201: s.ApiTokenCreatedOutput})
    def create(self, request, *args, **kwargs):
        data = s.ApiTokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = services.api_token_create(tenant=self.tenant, user=request.user, name=data.validated_data["name"])
        token.key = raw
        return Response(s.ApiTokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.api_token_revoke(tenant=self.tenant, user=self.request.user, token=instance)


