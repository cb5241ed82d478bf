from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "programs"
    label = "programs"

    def ready(self) -> None:
        from coachhub.tenancy.access import ADMIN, REVIEWERS
        from coachhub.tenancy.demo import register_seeder
        from coachhub.tenancy.home import register_nav, register_section
        from coachhub.tenancy.models import Role
        from coachhub.tenancy.people_status import register_people_status

        from . import home, lti, selectors, services, statements
        from .demo import seed_programs

        register_section(frozenset({Role.REP}), home.rep_programs_section)
        register_seeder(seed_programs)
        # Readiness beside each rep on the scorecard and in insights (reports asks the registry).
        register_people_status(key="readiness", label="Readiness", provider=selectors.people_readiness, order=10)
        register_nav(label="Programs", url_name="program_list", roles=REVIEWERS, order=35)
        # Learning records follow practice: each session event becomes queued xAPI statements.
        services.register_session_listener("started", statements.on_started)
        services.register_session_listener("ended", statements.on_ended)
        services.register_session_listener("scored", statements.on_scored)
        services.register_session_listener("scored", lti.on_scored)
        register_nav(label="Learning records", url_name="lrs_settings", roles=ADMIN, order=90)
        register_nav(label="LMS (LTI)", url_name="lti_settings", roles=ADMIN, order=91)
        register_nav(label="My programs", url_name="my_programs", roles=frozenset({Role.REP}), order=36)
        from . import personal_data  # noqa: F401  (declares enrollments and outbox rows for erasure)
