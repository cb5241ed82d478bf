"""Read-mostly admin for platform operators investigating scoring jobs."""

from django.contrib import admin

from .models import BehaviorScore, Dispute, SessionScore, TurnComment


class TenantOwnedAdmin(admin.ModelAdmin):
    def get_queryset(self, request):
        return self.model.objects.all_tenants()


class BehaviorScoreInline(admin.TabularInline):
    model = BehaviorScore
    extra = 0
    fields = ["behavior", "ai_score", "adjusted_score", "confidence", "adjusted_reason"]
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        return self.model.objects.all_tenants()


@admin.register(SessionScore)
class SessionScoreAdmin(TenantOwnedAdmin):
    list_display = ["id", "tenant", "session", "engine", "scorer_version", "status", "is_current", "overall",
                    "attempts", "created_at"]
    list_filter = ["status", "engine", "is_current"]
    readonly_fields = ["tenant", "session", "membership", "engine", "scorer_version", "rubric_version", "result",
                       "created_at", "started_at", "finished_at", "claim_token"]
    inlines = [BehaviorScoreInline]


@admin.register(TurnComment)
class TurnCommentAdmin(TenantOwnedAdmin):
    list_display = ["id", "tenant", "session", "turn_index", "author", "created_at"]


@admin.register(Dispute)
class DisputeAdmin(TenantOwnedAdmin):
    list_display = ["id", "tenant", "behavior_score", "rep", "status", "created_at", "resolved_at"]
    list_filter = ["status"]
