from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "coachhub.identity"
    label = "identity"
    verbose_name = "Identity (SCIM, SSO)"

    def ready(self) -> None:
        from coachhub.tenancy.access import ADMIN
        from coachhub.tenancy.home import register_nav

        from . import signals  # noqa: F401  (records each login's session key, for sign-out everywhere)

        register_nav(label="Identity", url_name="identity_settings", roles=ADMIN, order=90)
        from . import personal_data  # noqa: F401  (declares SCIM users and break-glass places for erasure)
