"""Platform operators verify tenants' SSO e-mail domains here (the "operator approval" route)."""

from django.contrib import admin
from django.utils import timezone

from .models import SsoDomain


@admin.register(SsoDomain)
class SsoDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "verified_at"]
    actions = ["verify"]

    def get_queryset(self, request):
        return SsoDomain.objects.all_tenants().select_related("tenant")

    @admin.action(description="Verify the selected domains")
    def verify(self, request, queryset):
        for row in queryset:
            row.verified_at = row.verified_at or timezone.now()
            row.save(update_fields=["verified_at"])
