"""Django admin for platform operators: every tenant's KPI sources and imports, through the escape hatch."""

from django.contrib import admin

from .models import KpiImport, KpiMetric, KpiSource


class AllTenantsAdmin(admin.ModelAdmin):
    list_filter = ["tenant"]

    def get_queryset(self, request):
        return self.model.objects.all_tenants().select_related("tenant")


@admin.register(KpiMetric)
class KpiMetricAdmin(AllTenantsAdmin):
    list_display = ["key", "label", "unit", "tenant", "is_builtin", "higher_is_better"]


@admin.register(KpiSource)
class KpiSourceAdmin(AllTenantsAdmin):
    list_display = ["name", "tenant", "format", "date_format", "updated_at"]


@admin.register(KpiImport)
class KpiImportAdmin(AllTenantsAdmin):
    list_display = ["file_name", "tenant", "status", "total_rows", "created_count", "updated_count", "error_count",
                    "created_at"]
    list_filter = ["tenant", "status"]
    readonly_fields = ["errors", "sample", "notices"]
