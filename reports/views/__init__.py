"""Pages of the reports app (under /t/<tenant_slug>/)."""

from .kpis import (
    kpi_export,
    kpi_home,
    kpi_import,
    kpi_import_agents,
    kpi_import_commit,
    kpi_import_detail,
    kpi_import_progress,
    kpi_import_remap,
    kpi_metric_delete,
    kpi_metric_edit,
    kpi_metrics,
)

__all__ = [
    "kpi_export",
    "kpi_home",
    "kpi_import",
    "kpi_import_agents",
    "kpi_import_commit",
    "kpi_import_detail",
    "kpi_import_progress",
    "kpi_import_remap",
    "kpi_metric_delete",
    "kpi_metric_edit",
    "kpi_metrics",
]
