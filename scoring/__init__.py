"""Behavior scoring of practice sessions, with evidence."""
