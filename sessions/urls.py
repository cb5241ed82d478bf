"""Pages (mounted under /t/<tenant_slug>/)."""

urlpatterns: list = []
