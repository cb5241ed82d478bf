from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "coachhub.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import rls
        from .api import schema  # noqa: F401  (registers the OpenAPI auth extension)

        connection_created.connect(rls.install, dispatch_uid="tenancy.rls.install")
