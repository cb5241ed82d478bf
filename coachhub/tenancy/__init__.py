"""Tenancy core: tenants, people and roles, and the fail-closed scoping every app builds on."""
