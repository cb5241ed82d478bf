from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "coachhub.core"
    label = "core"
    verbose_name = "Core"
