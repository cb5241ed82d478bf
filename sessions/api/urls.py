"""API routes (mounted under /api/v1/t/<tenant_slug>/)."""

urlpatterns: list = []
