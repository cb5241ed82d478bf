"""Platform operators verify tenants' SSO e-mail domains here (the "operator approval" route; the
tenant's own route is a DNS TXT record, on its Identity page)."""

from django.contrib import admin

from .models import SsoDomain
from .services import sso_domain_approve


@admin.register(SsoDomain)
class SsoDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "verified_at", "verified_via"]
    actions = ["verify"]

    def get_queryset(self, request):
        return SsoDomain.objects.all_tenants().select_related("tenant")

    @admin.action(description="Verify the selected domains")
    def verify(self, request, queryset):
        for row in queryset:
            sso_domain_approve(domain=row, operator=request.user)
