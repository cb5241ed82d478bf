from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from coachhub.tenancy.access import REVIEWERS
        from coachhub.tenancy.home import register_nav

        register_nav(label="KPIs", url_name="kpi_home", roles=REVIEWERS, order=40)

        from reports import dashboards

        dashboards.register()

        from sessions.events import register_session_listener

        from .dashboards.aggregates import rep_week_refresh_on_commit

        # The rep's weekly row counts ended sessions, completed assignments and (adjusted) scores.
        register_session_listener("ended", rep_week_refresh_on_commit)
        register_session_listener("scored", rep_week_refresh_on_commit)

        from . import personal_data  # noqa: F401  (registers KPI values, weekly rows, digests for erasure)
