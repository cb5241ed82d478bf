from django.apps import AppConfig


class RoleplayConfig(AppConfig):
    name = "sessions"
    label = "roleplay"
    verbose_name = "Role-play sessions"

    def ready(self) -> None:
        from coachhub.tenancy.access import ALL_ROLES, REVIEWERS
        from coachhub.tenancy.home import register_nav

        from . import personal_data  # noqa: F401  (registers sessions, turns, recordings for retention/erasure)

        register_nav(label="Practice", url_name="practice", roles=ALL_ROLES, order=10)
        register_nav(label="Sessions", url_name="session_list", roles=REVIEWERS, order=30)

        from . import engines  # noqa: F401  (registers the customer engines)
