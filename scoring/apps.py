from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    label = "scoring"

    def ready(self) -> None:
        from sessions.events import register_session_listener

        from . import engines  # noqa: F401  (registers the scoring engines)
        from .services import on_session_ended

        register_session_listener("ended", on_session_ended)

        from . import personal_data  # noqa: F401  (registers scores, comments, disputes for retention/erasure)
