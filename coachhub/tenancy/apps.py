from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "coachhub.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        from .api import schema  # noqa: F401  (registers the OpenAPI auth extension)
