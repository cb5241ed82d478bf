from django.apps import AppConfig


class ScenariosConfig(AppConfig):
    name = "scenarios"
    label = "scenarios"

    def ready(self) -> None:
        from coachhub.tenancy.access import ASSIGNERS, AUTHORS
        from coachhub.tenancy.demo import register_seeder
        from coachhub.tenancy.home import register_nav, register_section
        from coachhub.tenancy.models import Role

        from . import home
        from .demo import seed_scenarios

        register_section(frozenset({Role.REP}), home.rep_assignments_section)
        register_section(ASSIGNERS, home.assigner_section)
        register_nav(label="Scenarios", url_name="scenario_list", roles=AUTHORS, order=20)
        register_nav(label="Assignments", url_name="assignment_list", roles=ASSIGNERS, order=30)
        register_seeder(seed_scenarios)
        from . import personal_data  # noqa: F401  (registers assignment copies for erasure)
