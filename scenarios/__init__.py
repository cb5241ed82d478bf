"""Scenario authoring: versioned scenarios, assignments and the starter library."""
