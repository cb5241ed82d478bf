"""Writes and domain actions of scenarios: authoring and versions, assignments, YAML import/export and
the starter library. Split by topic; import from here."""

from .assignments import assignment_cancel, assignment_create, assignment_record_attempt
from .authoring import (
    scenario_archive,
    scenario_create,
    scenario_duplicate,
    scenario_edit,
    scenario_publish,
    spec_validate,
    version_mark_used,
    version_publish,
    version_realism_record,
    version_realism_start,
    version_update,
)
from .transfer import (
    ImportSummary,
    library_install,
    library_install_all,
    scenarios_export_yaml,
    scenarios_import_yaml,
)

__all__ = [
    "ImportSummary",
    "assignment_cancel",
    "assignment_create",
    "assignment_record_attempt",
    "library_install",
    "library_install_all",
    "scenario_archive",
    "scenario_create",
    "scenario_duplicate",
    "scenario_edit",
    "scenario_publish",
    "scenarios_export_yaml",
    "scenarios_import_yaml",
    "spec_validate",
    "version_mark_used",
    "version_publish",
    "version_realism_record",
    "version_realism_start",
    "version_update",
]
