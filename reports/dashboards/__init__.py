"""Manager dashboards: weekly rep aggregates, the scorecard, rep views, the monthly operating model,
behavior × KPI linkage, weekly digests and the demo history that brings them alive."""

from __future__ import annotations

_registered = False


def register() -> None:
    """Hooks the dashboards into the tenancy core: home sections, navigation and the demo seeder.
    Called once from ReportsConfig.ready() (repeat calls are ignored)."""
    global _registered
    if _registered:
        return
    _registered = True
    from coachhub.tenancy.access import REVIEWERS
    from coachhub.tenancy.demo import register_seeder
    from coachhub.tenancy.home import register_nav, register_section
    from coachhub.tenancy.models import Role

    from . import home, tasks  # noqa: F401  (the worker must know the dashboard tasks)
    from .demo import seed_demo_history

    register_section(frozenset({Role.REP}), home.rep_progress_section)
    register_section(REVIEWERS, home.scorecard_section)
    register_nav(label="My progress", url_name="my_progress", roles=frozenset({Role.REP}), order=15)
    register_nav(label="Scorecard", url_name="scorecard", roles=REVIEWERS, order=40)
    register_nav(label="Insights", url_name="insights", roles=REVIEWERS, order=45)
    register_seeder(seed_demo_history)
