from django.contrib import admin

from .models import Program, ProgramEnrollment, ProgramStep


class _TenantAdmin(admin.ModelAdmin):
    def get_queryset(self, request):
        return self.model.objects.all_tenants()


@admin.register(Program)
class ProgramAdmin(_TenantAdmin):
    list_display = ("title", "tenant", "due_on", "archived_at")
    list_filter = ("tenant",)


@admin.register(ProgramStep)
class ProgramStepAdmin(_TenantAdmin):
    list_display = ("program", "position", "scenario", "pass_overall")


@admin.register(ProgramEnrollment)
class ProgramEnrollmentAdmin(_TenantAdmin):
    list_display = ("program", "membership", "live_status", "live_decided_at")
    list_filter = ("live_status",)
