"""KPI import, weekly aggregates, dashboards and digests."""
