"""Pages of scenario authoring, the starter library and assignments (under /t/<tenant_slug>/)."""

from .assignments import (
    assignment_cancel,
    assignment_create,
    assignment_detail,
    assignment_focus_options,
    assignment_list,
)
from .authoring import (
    scenario_archive,
    scenario_brief,
    scenario_create,
    scenario_detail,
    scenario_diff,
    scenario_duplicate,
    scenario_edit,
    scenario_form_preview,
    scenario_list,
    scenario_publish,
)
from .transfer import (
    scenario_export,
    scenario_export_all,
    scenario_import,
    scenario_library,
    scenario_library_install,
)

__all__ = [
    "assignment_cancel",
    "assignment_create",
    "assignment_detail",
    "assignment_focus_options",
    "assignment_list",
    "scenario_archive",
    "scenario_brief",
    "scenario_create",
    "scenario_detail",
    "scenario_diff",
    "scenario_duplicate",
    "scenario_edit",
    "scenario_export",
    "scenario_export_all",
    "scenario_form_preview",
    "scenario_import",
    "scenario_library",
    "scenario_library_install",
    "scenario_list",
    "scenario_publish",
]
