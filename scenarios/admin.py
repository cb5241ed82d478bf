"""Django admin for platform operators: every tenant's scenarios, through the escape hatch."""

from django.contrib import admin

from .models import Assignment, AssignmentRecipient, AssignmentTeam, Scenario, ScenarioVersion


class AllTenantsAdmin(admin.ModelAdmin):
    list_filter = ["tenant"]

    def get_queryset(self, request):
        return self.model.objects.all_tenants().select_related("tenant")


class ScenarioVersionInline(admin.TabularInline):
    model = ScenarioVersion
    fields = ["number", "status", "created_at", "published_at", "used_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return ScenarioVersion.objects.all_tenants()


@admin.register(Scenario)
class ScenarioAdmin(AllTenantsAdmin):
    list_display = ["title", "slug", "tenant", "moment", "source_library_slug", "updated_at", "archived_at"]
    list_filter = ["tenant", "moment"]
    search_fields = ["title", "slug"]
    inlines = [ScenarioVersionInline]


@admin.register(ScenarioVersion)
class ScenarioVersionAdmin(AllTenantsAdmin):
    list_display = ["scenario", "number", "status", "tenant", "published_at", "used_at"]
    list_filter = ["tenant", "status"]

    def has_change_permission(self, request, obj=None):
        # Content changes go through the services, which refuse to touch a used version.
        return False


class AssignmentRecipientInline(admin.TabularInline):
    model = AssignmentRecipient
    fields = ["membership", "via_team", "attempts", "completed_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return AssignmentRecipient.objects.all_tenants().select_related("membership__user", "via_team")


@admin.register(Assignment)
class AssignmentAdmin(AllTenantsAdmin):
    list_display = ["id", "scenario", "version", "tenant", "assigned_by", "due_on", "created_at", "cancelled_at"]
    raw_id_fields = ["scenario", "version", "assigned_by"]
    inlines = [AssignmentRecipientInline]


@admin.register(AssignmentTeam)
class AssignmentTeamAdmin(AllTenantsAdmin):
    list_display = ["assignment", "team", "tenant"]


@admin.register(AssignmentRecipient)
class AssignmentRecipientAdmin(AllTenantsAdmin):
    list_display = ["assignment", "membership", "via_team", "attempts", "completed_at", "tenant"]
    raw_id_fields = ["assignment", "membership", "via_team"]
