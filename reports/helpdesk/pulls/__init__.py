"""Scheduled pulls from help-desk APIs (Zendesk, Freshdesk, Intercom): each vendor's incremental API
read into its file preset's columns, aggregated exactly as an uploaded export is, upserted per week."""
