"""Provisioning records: SCIM bearer tokens, the SCIM view of a tenant's people and teams, and the
session keys a person signed in with (so deprovisioning can end every one of them)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from coachhub.tenancy.models import Membership, Role, Team, TenantOwnedModel


class ScimToken(TenantOwnedModel):
    """A bearer token an identity provider uses on /scim/v2/t/<slug>/. Only its SHA-256 is stored."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key_hash"], name="scimtoken_unique_hash")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ScimUser(TenantOwnedModel):
    """A person as the identity provider provisioned them. `resource` is the SCIM document as last
    written (the attributes we declare); the membership is what CoachHub does with it. A resource
    without an e-mail address has no membership until one arrives."""

    scim_id = models.UUIDField(default=uuid.uuid4, editable=False)
    membership = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="scim_users"
    )
    user_name = models.CharField(max_length=255)
    # userName is case-insensitive (RFC 7643 §4.1.1): uniqueness and filters use the folded form.
    user_name_folded = models.CharField(max_length=255)
    # NULL = the IdP sent no externalId, which SCIM tells apart from "" (the `externalId pr` filter).
    external_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    email = models.CharField(max_length=254, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=True)
    resource = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "scim_id"], name="scimuser_unique_id"),
            models.UniqueConstraint(fields=["tenant", "user_name_folded"], name="scimuser_unique_username"),
        ]
        indexes = [
            models.Index(fields=["tenant", "external_id"], name="scimuser_tenant_external"),
            models.Index(fields=["tenant", "email"], name="scimuser_tenant_email"),
        ]
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.user_name


class ScimGroup(TenantOwnedModel):
    """A provisioned group; each maps to one CoachHub team, whose member links SCIM manages."""

    scim_id = models.UUIDField(default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="scim_groups")
    display_name = models.CharField(max_length=100)
    external_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001  (as on ScimUser)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "scim_id"], name="scimgroup_unique_id"),
            models.UniqueConstraint(fields=["tenant", "team"], name="scimgroup_unique_team"),
        ]
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.display_name


class ScimGroupMember(TenantOwnedModel):
    """A member of a SCIM group as the identity provider sent it. CoachHub's team link follows from
    it once the user is a member of the workspace (has an e-mail address)."""

    group = models.ForeignKey(ScimGroup, on_delete=models.CASCADE, related_name="member_rows")
    scim_user = models.ForeignKey(ScimUser, on_delete=models.CASCADE, related_name="group_rows")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "group", "scim_user"], name="scimgroupmember_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "scim_user"], name="scimgroupmember_tenant_user")]


class OidcProvider(TenantOwnedModel):
    """A tenant's OpenID Connect identity provider (authorization code flow with PKCE)."""

    issuer = models.URLField(help_text="e.g. https://acme.okta.com — discovery is read from /.well-known/openid-configuration")
    client_id = models.CharField(max_length=255)
    client_secret_encrypted = models.TextField(blank=True)
    jit_enabled = models.BooleanField(
        default=True, help_text="Create a membership on a person's first sign-in (with the default role)."
    )
    default_role = models.CharField(max_length=20, choices=Role.choices, default=Role.REP)
    enforce_sso = models.BooleanField(
        default=False, help_text="Members can't sign in with a password, except the break-glass admins."
    )
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="oidcprovider_one_per_tenant")]

    def __str__(self) -> str:
        return self.issuer


class SamlProvider(TenantOwnedModel):
    """A tenant's SAML 2.0 identity provider, as its metadata describes it. Assertions must be
    signed with a certificate from that metadata."""

    idp_entity_id = models.CharField(max_length=1024)
    metadata_xml = models.TextField()
    metadata_url = models.URLField(max_length=1024, blank=True, help_text="Where the metadata was imported from, if by URL.")
    jit_enabled = models.BooleanField(
        default=True, help_text="Create a membership on a person's first sign-in (with the default role)."
    )
    default_role = models.CharField(max_length=20, choices=Role.choices, default=Role.REP)
    enforce_sso = models.BooleanField(
        default=False, help_text="Members can't sign in with a password, except the break-glass admins."
    )
    allow_idp_initiated = models.BooleanField(
        default=True, help_text="Accept sign-ins started from the identity provider's app dashboard."
    )
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="samlprovider_one_per_tenant")]

    def __str__(self) -> str:
        return self.idp_entity_id


class SamlAssertionSeen(TenantOwnedModel):
    """An assertion already used to sign in, kept until it expires, so it can't be replayed."""

    assertion_id = models.CharField(max_length=255)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "assertion_id"], name="samlassertion_unique_id")]
        indexes = [models.Index(fields=["tenant", "expires_at"], name="samlassertion_tenant_expiry")]

    def __str__(self) -> str:
        return self.assertion_id


class SamlPendingRequest(TenantOwnedModel):
    """An SP-initiated sign-in request this tenant sent, until its response arrives (once) or it
    expires. The identity provider posts the response cross-site, where the browser withholds the
    (SameSite=Lax) session cookie, so the outstanding request is kept here, not in the session."""

    request_id = models.CharField(max_length=255)
    next_url = models.CharField(max_length=2000, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "request_id"], name="samlrequest_unique_id")]

    def __str__(self) -> str:
        return self.request_id


class BreakGlassAdmin(TenantOwnedModel):
    """A tenant admin who may still sign in with a password while SSO is enforced (for when the
    identity provider is down or misconfigured)."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "membership"], name="breakglass_unique")]

    def __str__(self) -> str:
        return f"break-glass {self.membership_id}"


class GroupMapping(TenantOwnedModel):
    """What membership of an identity-provider group means in CoachHub: a role, a team, or both.
    Applied at every single sign-on (the groups claim)."""

    group = models.CharField(max_length=255)
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "group"], name="groupmapping_unique_group")]
        ordering = ["group"]

    def __str__(self) -> str:
        return self.group


def _verification_token() -> str:
    import secrets

    return secrets.token_urlsafe(24)


class SsoDomain(TenantOwnedModel):
    """An e-mail domain whose people sign in through the tenant's identity provider. It routes
    sign-ins only once it is verified — by the tenant publishing `coachhub-verify=<token>` in the
    domain's DNS TXT records, or by a platform operator (Django admin) — so no tenant can claim
    another organisation's addresses."""

    class Via(models.TextChoices):
        DNS = "dns", "DNS TXT record"
        OPERATOR = "operator", "Operator approval"

    domain = models.CharField(max_length=253)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_via = models.CharField(max_length=10, choices=Via.choices, blank=True)
    verification_token = models.CharField(max_length=64, default=_verification_token)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "domain"], name="ssodomain_unique")]
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    @property
    def txt_record(self) -> str:
        return f"coachhub-verify={self.verification_token}"


class SignedInSession(models.Model):
    """A session key a person signed in with. Not tenant-owned: one login serves every workspace,
    and "sign out everywhere" deletes each of these sessions."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_key"], name="signedinsession_unique_key")]
        indexes = [models.Index(fields=["user"], name="signedinsession_user")]

    def __str__(self) -> str:
        return f"session of user {self.user_id}"
