"""Tenant API of the identity app: the workspace's identity provider (OpenID Connect or SAML), read
and set by its admins with the same rules as the Identity page: a bad issuer or metadata, or
enforcement without a break-glass admin, is refused with the reason and nothing is saved."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.response import Response

from coachhub.core.errors import ApplicationError
from coachhub.tenancy.access import ADMIN
from coachhub.tenancy.api.base import TenantAPIMixin
from coachhub.tenancy.models import Membership, Role

from . import selectors, services
from .models import OidcProvider, SamlProvider
from .services import ScimError


def _break_glass_admins(tenant, emails: list[str]) -> list[Membership]:
    """The active tenant admins named by e-mail; an address that isn't one is refused by name."""
    wanted = sorted({email.lower() for email in emails})
    admins = list(
        Membership.objects.for_tenant(tenant)
        .filter(user__email__in=wanted, role=Role.TENANT_ADMIN, is_active=True).select_related("user")
    )
    unknown = sorted(set(wanted) - {m.user.email for m in admins})
    if unknown:
        raise ApplicationError(f"{unknown[0]} is not an active tenant admin of this workspace.",
                               code="invalid_break_glass", fields={"break_glass": [f"{unknown[0]} is not an admin."]})
    return admins


class OidcProviderOutput(serializers.Serializer):
    configured = serializers.BooleanField(help_text="False until an issuer was saved.")
    enabled = serializers.BooleanField(help_text="False when SAML was saved after it.")
    issuer = serializers.CharField()
    client_id = serializers.CharField()
    client_secret_set = serializers.BooleanField(help_text="Whether a client secret is stored; it is never returned.")
    default_role = serializers.ChoiceField(choices=Role.choices)
    jit_enabled = serializers.BooleanField()
    enforce_sso = serializers.BooleanField()
    break_glass = serializers.ListField(child=serializers.EmailField(), help_text="Break-glass admins' e-mails.")
    redirect_uri = serializers.CharField(help_text="The redirect URI to register with the identity provider.")


class OidcProviderInput(serializers.Serializer):
    issuer = serializers.URLField(max_length=200, help_text="The issuer URL; discovery is read from it at sign-in.")
    client_id = serializers.CharField(max_length=255)
    client_secret = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, write_only=True,
        help_text="Empty or absent keeps the stored secret.",
    )
    default_role = serializers.ChoiceField(choices=Role.choices, default=Role.REP)
    jit_enabled = serializers.BooleanField(default=True)
    enforce_sso = serializers.BooleanField(default=False)
    break_glass = serializers.ListField(child=serializers.EmailField(), required=False, default=list, max_length=50)


class _ProviderView(TenantAPIMixin, generics.GenericAPIView):
    """GET reads the workspace's provider of one kind, POST sets it (and turns the other kind off).

    Both kinds share the sign-in rules (default role, just-in-time provisioning, enforcement and
    its break-glass admins); a subclass names its model, serializers and what else it reads and saves.
    """

    role_map = {"GET": ADMIN, "POST": ADMIN}
    input_class: type[serializers.Serializer]
    error_code: str
    source_field: str  # the input field a refused setting is reported on (issuer, metadata_xml)

    def scoped_queryset(self):
        return self.model.objects.for_tenant(self.tenant)

    def provider_values(self, row, request) -> dict:
        raise NotImplementedError

    def save(self, request, values: dict, admins: list[Membership]) -> None:
        raise NotImplementedError

    def _output(self, request) -> dict:
        row = self.get_queryset().first()
        return self.serializer_class({
            "configured": row is not None, "enabled": bool(row and row.enabled),
            "default_role": getattr(row, "default_role", Role.REP), "jit_enabled": getattr(row, "jit_enabled", True),
            "enforce_sso": getattr(row, "enforce_sso", False),
            "break_glass": sorted(b.membership.user.email for b in selectors.break_glass_list(tenant=self.tenant)),
            **self.provider_values(row, request),
        }).data

    def get(self, request, *args, **kwargs):
        return Response(self._output(request))

    def post(self, request, *args, **kwargs):
        data = self.input_class(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        admins = _break_glass_admins(self.tenant, values["break_glass"])
        try:
            self.save(request, values, admins)
        except ScimError as exc:
            field = "break_glass" if "break-glass" in exc.detail else self.source_field
            raise ApplicationError(exc.detail, code=self.error_code, fields={field: [exc.detail]}) from None
        return Response(self._output(request))


@extend_schema_view(
    get=extend_schema(responses=OidcProviderOutput),
    post=extend_schema(request=OidcProviderInput, responses=OidcProviderOutput),
)
class OidcProviderView(_ProviderView):
    """The workspace's OpenID Connect identity provider. POST sets it (and turns SAML off)."""

    model = OidcProvider
    serializer_class = OidcProviderOutput
    input_class = OidcProviderInput
    error_code = "invalid_oidc_settings"
    source_field = "issuer"

    def provider_values(self, row, request) -> dict:
        return {
            "issuer": getattr(row, "issuer", ""), "client_id": getattr(row, "client_id", ""),
            "client_secret_set": bool(row and row.client_secret_encrypted),
            "redirect_uri": request.build_absolute_uri(
                reverse("sso_oidc_callback", kwargs={"sso_tenant": self.tenant.slug})
            ),
        }

    def save(self, request, values: dict, admins: list[Membership]) -> None:
        services.oidc_provider_save(
            tenant=self.tenant, actor=request.user, issuer=values["issuer"], client_id=values["client_id"],
            client_secret=values.get("client_secret", ""), default_role=values["default_role"],
            jit_enabled=values["jit_enabled"], enforce_sso=values["enforce_sso"], break_glass=admins,
        )


class SamlProviderOutput(serializers.Serializer):
    configured = serializers.BooleanField(help_text="False until metadata was saved.")
    enabled = serializers.BooleanField(help_text="False when OpenID Connect was saved after it.")
    idp_entity_id = serializers.CharField()
    metadata_url = serializers.CharField(help_text="Where the metadata was imported from on the page, if by URL.")
    default_role = serializers.ChoiceField(choices=Role.choices)
    jit_enabled = serializers.BooleanField()
    enforce_sso = serializers.BooleanField()
    allow_idp_initiated = serializers.BooleanField()
    break_glass = serializers.ListField(child=serializers.EmailField(), help_text="Break-glass admins' e-mails.")
    sp_entity_id = serializers.CharField(help_text="This workspace's entity ID (audience); its metadata URL.")
    acs_url = serializers.CharField(help_text="This workspace's assertion consumer service.")


class SamlProviderInput(serializers.Serializer):
    metadata_xml = serializers.CharField(
        required=False, allow_blank=True, max_length=1_000_000, trim_whitespace=True,
        help_text="The identity provider's SAML metadata XML; empty or absent keeps the saved metadata.",
    )
    default_role = serializers.ChoiceField(choices=Role.choices, default=Role.REP)
    jit_enabled = serializers.BooleanField(default=True)
    enforce_sso = serializers.BooleanField(default=False)
    allow_idp_initiated = serializers.BooleanField(default=True)
    break_glass = serializers.ListField(child=serializers.EmailField(), required=False, default=list, max_length=50)


@extend_schema_view(
    get=extend_schema(responses=SamlProviderOutput),
    post=extend_schema(request=SamlProviderInput, responses=SamlProviderOutput),
)
class SamlProviderView(_ProviderView):
    """The workspace's SAML 2.0 identity provider. POST sets it (and turns OpenID Connect off)."""

    model = SamlProvider
    serializer_class = SamlProviderOutput
    input_class = SamlProviderInput
    error_code = "invalid_saml_settings"
    source_field = "metadata_xml"

    def provider_values(self, row, request) -> dict:
        slug = self.tenant.slug
        return {
            "idp_entity_id": getattr(row, "idp_entity_id", ""), "metadata_url": getattr(row, "metadata_url", ""),
            "allow_idp_initiated": getattr(row, "allow_idp_initiated", True),
            "sp_entity_id": request.build_absolute_uri(reverse("sso_saml_metadata", kwargs={"sso_tenant": slug})),
            "acs_url": request.build_absolute_uri(reverse("sso_saml_acs", kwargs={"sso_tenant": slug})),
        }

    def save(self, request, values: dict, admins: list[Membership]) -> None:
        services.saml_provider_save(
            tenant=self.tenant, actor=request.user, metadata_xml=values.get("metadata_xml", ""),
            default_role=values["default_role"], jit_enabled=values["jit_enabled"],
            enforce_sso=values["enforce_sso"], allow_idp_initiated=values["allow_idp_initiated"], break_glass=admins,
        )
