from django.apps import AppConfig


class RoleplayConfig(AppConfig):
    name = "sessions"
    label = "roleplay"
    verbose_name = "Role-play sessions"
