from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "programs"
    label = "programs"

    def ready(self) -> None:
        from coachhub.tenancy.access import REVIEWERS
        from coachhub.tenancy.home import register_nav, register_section
        from coachhub.tenancy.models import Role

        from . import home

        register_section(frozenset({Role.REP}), home.rep_programs_section)
        register_nav(label="Programs", url_name="program_list", roles=REVIEWERS, order=35)
        register_nav(label="My programs", url_name="my_programs", roles=frozenset({Role.REP}), order=36)
