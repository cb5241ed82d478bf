from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    label = "scoring"

    def ready(self) -> None:
        from . import personal_data  # noqa: F401  (registers scores, comments, disputes for retention/erasure)
