"""Django admin for platform operators. The admin sees every tenant, so it uses the escape hatch."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import ApiToken, AuditEvent, Invitation, Membership, Team, TeamMembership, Tenant, User


class AllTenantsAdmin(admin.ModelAdmin):
    list_filter = ["tenant"]

    def get_queryset(self, request):
        return self.model.objects.all_tenants().select_related("tenant")


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password", "full_name"]}),
        ("Platform", {"fields": ["is_active", "is_staff", "is_superuser"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


@admin.register(Membership)
class MembershipAdmin(AllTenantsAdmin):
    list_display = ["user", "tenant", "role", "is_active"]


@admin.register(Team)
class TeamAdmin(AllTenantsAdmin):
    list_display = ["name", "tenant"]


@admin.register(TeamMembership)
class TeamMembershipAdmin(AllTenantsAdmin):
    list_display = ["team", "membership", "kind", "tenant"]


@admin.register(Invitation)
class InvitationAdmin(AllTenantsAdmin):
    list_display = ["email", "tenant", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    exclude = ["token_hash"]


@admin.register(ApiToken)
class ApiTokenAdmin(AllTenantsAdmin):
    list_display = ["name", "user", "tenant", "prefix", "created_at", "revoked_at"]
    exclude = ["key_hash"]


@admin.register(AuditEvent)
class AuditEventAdmin(AllTenantsAdmin):
    list_display = ["created_at", "tenant", "actor", "action", "summary"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
